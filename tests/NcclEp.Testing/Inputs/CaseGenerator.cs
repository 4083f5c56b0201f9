using System;

namespace NcclEp.Testing;

/// <summary>
/// How the buffers of one configuration are laid out: row pitches in elements (≥ hidden or topK) of the home
/// inputs (x, gradient), home outputs (combined, token gradient), layouts, ids and weights; and, for 3-D
/// layouts, spare rows between the blocks of dimension 0.
/// </summary>
public readonly record struct BufferShape(int InPitch, int OutPitch, int LayoutPitch, int GapRows, int IdsPitch, int WeightsPitch);

/// <summary>The CPU suite's random configurations, buffer shapes and per-rank batches, from seeded generators.</summary>
public static class CaseGenerator
{
    private static readonly int[] Hiddens = [512, 640, 1024, 2048];

    /// <summary>Most elements of one rank's layout buffer: keeps a case cheap on a 2-core CI box.</summary>
    public const long LayoutElementBudget = 1L << 18;

    public static int Seed(params int[] parts)
    {
        int h = 17;
        foreach (int p in parts) h = unchecked((h * 486187739) + p + 1);
        return h & 0x7FFFFFFF;
    }

    /// <summary>A random valid configuration of the given mode, layout, dtype and alignment for <paramref name="world"/> ranks.</summary>
    public static EpConfig Config(Random rng, EpMode mode, EpLayout layout, EpDataType type, int alignment, int world)
    {
        int hidden = Hiddens[rng.Next(Hiddens.Length)];
        int maxTokens = rng.Next(4) == 0 ? rng.Next(9, 17) : rng.Next(1, 9);
        int maxLocal = 256 / world;
        int local = rng.Next(3) switch
        {
            0 => rng.Next(1, Math.Min(4, maxLocal) + 1),
            1 => rng.Next(1, maxLocal + 1),
            _ => maxLocal,
        };
        int topK = rng.Next(4) == 0 ? Math.Min(32, world * local) : rng.Next(1, Math.Min(32, world * local) + 1);
        while (true)
        {
            var config = new EpConfig(mode, world * local, hidden, Math.Min(topK, world * local), maxTokens, layout, type,
                ExpertAlignment: alignment);
            if (config.ReceiveRows(world) * hidden <= LayoutElementBudget) return config;
            if (maxTokens > 1) maxTokens = (maxTokens + 1) / 2;
            else if (local > 1) local /= 2;
            else if (hidden > 512) hidden = 512;
            else return config;
        }
    }

    /// <summary>Row pitches: usually packed, sometimes padded by whole 16-byte units.</summary>
    public static BufferShape Shape(Random rng, EpConfig config)
    {
        int unit = 16 / config.DataType.SizeInBytes();
        int Pitch() => config.Hidden + (rng.Next(3) == 0 ? unit * rng.Next(1, 4) : 0);
        int TopKPitch() => config.TopK + (rng.Next(3) == 0 ? rng.Next(1, 4) : 0);
        int gap = config.Mode == EpMode.LowLatency && rng.Next(3) == 0 ? rng.Next(1, 3) : 0;
        return new BufferShape(Pitch(), Pitch(), Pitch(), gap, TopKPitch(), TopKPitch());
    }

    /// <summary>
    /// One rank's batch: tokens from {0, 1, odd, max, random}; distinct ids with some -1 (sometimes all on a few
    /// hot experts, sometimes none); weights of mixed sign (positive only when asked); non-zero random rows.
    /// </summary>
    public static RankBatch Batch(Random rng, EpConfig config, int world, bool positiveWeights = false)
    {
        int m = config.MaxTokensPerRank, k = config.TopK, e = config.NumExperts, h = config.Hidden;
        int tokens = rng.Next(5) switch
        {
            0 => 0,
            1 => 1,
            2 => 1 + (2 * rng.Next((m + 1) / 2)),
            3 => m,
            _ => rng.Next(m + 1),
        };
        var batch = new RankBatch(tokens, k, h, config.DataType);
        var taken = new bool[e];
        int hotBase = rng.Next(e), hotSpan = Math.Max(k, Math.Min(e, 1 + rng.Next(2 * k)));
        double noneRate = rng.Next(3) switch { 0 => 0.0, 1 => 0.2, _ => 0.6 };
        for (int t = 0; t < tokens; t++)
        {
            Array.Clear(taken);
            int style = rng.Next(10);
            for (int slot = 0; slot < k; slot++)
            {
                int id = BatchGenerator.DistinctExpert(taken, () => style < 3 ? (hotBase + rng.Next(hotSpan)) % e : rng.Next(e));
                bool none = style == 9 || (style != 8 && rng.NextDouble() < noneRate);
                batch.Ids[(t * k) + slot] = none ? -1 : id;
                batch.Weights[(t * k) + slot] = Weight(rng, positiveWeights);
            }
        }
        BatchGenerator.FillRows(rng, batch.X, config.DataType);
        BatchGenerator.FillRows(rng, batch.Grad, config.DataType);
        return batch;
    }

    private static float Weight(Random rng, bool positive)
    {
        if (positive) return (float)(0.01 + (rng.NextDouble() * 0.99));
        return rng.Next(8) switch
        {
            0 => 0f,
            1 => 1f,
            2 => -(float)rng.NextDouble(),
            3 => (float)Math.ScaleB(1.0, rng.Next(-4, 3)),
            _ => (float)rng.NextDouble(),
        };
    }
}
