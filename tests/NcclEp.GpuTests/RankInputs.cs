using System;

namespace NcclEp.GpuTests;

/// <summary>Random inputs of one rank: distinct expert ids (some -1), weights, token rows that are never all zero.</summary>
internal sealed class RankInputs
{
    public RankInputs(GpuCase c, int tokens, int seed) : this(c.Config(Math.Max(1, tokens)), tokens, seed)
    {
    }

    public RankInputs(EpConfig c, int tokens, int seed)
    {
        var random = new Random(seed);
        Tokens = tokens;
        Ids = new int[tokens * c.TopK];
        Weights = new float[tokens * c.TopK];
        for (int t = 0; t < tokens; t++)
        {
            for (int k = 0; k < c.TopK; k++)
            {
                int e;
                do { e = random.Next(c.NumExperts); } while (Array.IndexOf(Ids, e, t * c.TopK, k) >= 0);
                Ids[(t * c.TopK) + k] = random.Next(10) == 0 ? -1 : e;
                Weights[(t * c.TopK) + k] = (float)(random.NextDouble() * 2 - 0.5);
            }
        }
        int elementSize = c.DataType.SizeInBytes();
        Rows = new byte[(long)tokens * c.Hidden * elementSize];
        FillRows(random, Rows, c.DataType);
    }

    public int Tokens { get; }
    public int[] Ids { get; }
    public float[] Weights { get; }
    public byte[] Rows { get; }

    public static void FillRows(Random random, byte[] bytes, EpDataType type)
    {
        if (type == EpDataType.BFloat16)
        {
            for (int i = 0; i + 1 < bytes.Length; i += 2)
            {
                ushort bits = BFloat16.FromSingle((float)(random.NextDouble() * 8 - 4)).Bits;
                bytes[i] = (byte)bits;
                bytes[i + 1] = (byte)(bits >> 8);
            }
        }
        else
        {
            for (int i = 0; i + 3 < bytes.Length; i += 4)
                BitConverter.TryWriteBytes(bytes.AsSpan(i), (float)(random.NextDouble() * 8 - 4));
        }
    }
}
