using System;
using System.Threading.Tasks;

namespace NcclEp.Testing;

/// <summary>How <see cref="BatchGenerator.Uniform"/> draws routing: a slot is -1 with probability 1/<paramref name="NoneOneIn"/> (0: never); weights are uniform in [<paramref name="MinWeight"/>, <paramref name="MaxWeight"/>).</summary>
public readonly record struct RoutingStyle(int NoneOneIn, double MinWeight, double MaxWeight)
{
    /// <summary>One slot in ten without an expert; weights of both signs.</summary>
    public static RoutingStyle Mixed { get; } = new(10, -0.5, 1.5);
}

/// <summary>
/// Random inputs from seeded generators, one implementation for every suite: distinct expert ids per token, router
/// weights, and rows of non-zero values that the row dtype holds exactly.
/// </summary>
public static class BatchGenerator
{
    /// <summary>Arrays up to this size are filled from the caller's generator; larger ones in parallel chunks of this size.</summary>
    public const int FillChunkBytes = 1 << 20;

    /// <summary>
    /// A batch of <paramref name="tokens"/> tokens: each picks <c>TopK</c> distinct experts uniformly (then some slots
    /// become -1 as <paramref name="style"/> says), weights as <paramref name="style"/> says, random rows and (if
    /// <paramref name="gradient"/>) random gradient rows.
    /// </summary>
    public static RankBatch Uniform(Random rng, in EpConfig config, int tokens, RoutingStyle style, bool gradient = true)
    {
        int k = config.TopK;
        var batch = new RankBatch(tokens, k, config.Hidden, config.DataType, gradient);
        var taken = new bool[config.NumExperts];
        for (int t = 0; t < tokens; t++)
        {
            Array.Clear(taken);
            for (int slot = 0; slot < k; slot++)
            {
                int id = DistinctExpert(taken, () => rng.Next(taken.Length));
                bool none = style.NoneOneIn > 0 && rng.Next(style.NoneOneIn) == 0;
                batch.Ids[(t * k) + slot] = none ? -1 : id;
                batch.Weights[(t * k) + slot] = (float)(style.MinWeight + ((style.MaxWeight - style.MinWeight) * rng.NextDouble()));
            }
        }
        FillRows(rng, batch.X, config.DataType);
        FillRows(rng, batch.Grad, config.DataType);
        return batch;
    }

    /// <summary>Draws with <paramref name="draw"/> until an expert not yet <paramref name="taken"/> comes up, and takes it.</summary>
    public static int DistinctExpert(bool[] taken, Func<int> draw)
    {
        int id;
        do id = draw();
        while (taken[id]);
        taken[id] = true;
        return id;
    }

    /// <summary>
    /// Random non-zero values the dtype holds exactly, over a few binades and both signs, as element bits. Arrays of
    /// more than <see cref="FillChunkBytes"/> are filled in parallel chunks, each from its own generator seeded from
    /// <paramref name="rng"/>, so the largest GPU cases (hundreds of MB) do not spend seconds here; the result depends
    /// only on <paramref name="rng"/>.
    /// </summary>
    public static void FillRows(Random rng, byte[] bits, EpDataType type)
    {
        int size = type.SizeInBytes();
        if (bits.LongLength <= FillChunkBytes)
        {
            FillChunk(rng, bits.AsSpan(), type, size);
            return;
        }
        int seed = rng.Next();
        long chunks = (bits.LongLength + FillChunkBytes - 1) / FillChunkBytes;
        Parallel.For(0L, chunks, chunk =>
        {
            var local = new Random(unchecked((int)(((uint)seed * 0x9E3779B1u) ^ ((uint)chunk * 0x85EBCA6Bu))));  // not HashCode: it is seeded per process
            long start = chunk * FillChunkBytes;
            FillChunk(local, bits.AsSpan((int)start, (int)Math.Min(FillChunkBytes, bits.LongLength - start)), type, size);
        });
    }

    private static void FillChunk(Random rng, Span<byte> bits, EpDataType type, int size)
    {
        for (int at = 0; at + size <= bits.Length; at += size)
        {
            double v = ((rng.NextDouble() * 2) - 1) * Math.ScaleB(1.0, rng.Next(-6, 7));
            float f = Numerics.Round((float)v, type);
            Numerics.WriteElement(bits, at / size, type, Numerics.Encode(f == 0 ? 0.5f : f, type));
        }
    }
}
