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

    /// <summary>
    /// Random values in [-4, 4) (never all zero), deterministic for a given <paramref name="random"/>: chunks of
    /// <see cref="FillChunkBytes"/> are filled in parallel, each from its own generator seeded from
    /// <paramref name="random"/>, so the HT grid's largest cases (hundreds of MB per case) do not spend seconds here.
    /// </summary>
    public static void FillRows(Random random, byte[] bytes, EpDataType type)
    {
        int seed = random.Next();
        int elementSize = type == EpDataType.BFloat16 ? 2 : 4;
        long chunks = (bytes.LongLength + FillChunkBytes - 1) / FillChunkBytes;
        System.Threading.Tasks.Parallel.For(0L, chunks, chunk =>
        {
            var local = new Random(unchecked((int)(((uint)seed * 0x9E3779B1u) ^ ((uint)chunk * 0x85EBCA6Bu))));  // not HashCode: it is seeded per process
            long start = chunk * FillChunkBytes, end = Math.Min(bytes.LongLength, start + FillChunkBytes);
            for (long i = start; i + elementSize <= end; i += elementSize)
            {
                float value = (float)(local.NextDouble() * 8 - 4);
                if (type == EpDataType.BFloat16)
                {
                    ushort bits = BFloat16.FromSingle(value).Bits;
                    bytes[i] = (byte)bits;
                    bytes[i + 1] = (byte)(bits >> 8);
                }
                else
                {
                    BitConverter.TryWriteBytes(bytes.AsSpan((int)i), value);
                }
            }
        });
    }

    /// <summary>Bytes per parallel fill chunk: a multiple of both element sizes.</summary>
    public const int FillChunkBytes = 1 << 20;
}
