using System;
using System.Collections.Generic;
using NcclEp.Testing;

namespace NcclEp.Tests.Protocol;

/// <summary>
/// The protocol tests' experts: y = round(x·a + b) in fp32, with a and b drawn from the operation number and the
/// expert (expert-major) or the receiving rank (per-rank layouts). Every operation and every expert gives other rows,
/// so a combine that takes a row of another operation, another slot or another rank cannot match. The expected
/// combine is computed here from the source tokens, independently of the library.
/// </summary>
internal static class DistinctExperts
{
    /// <summary>The key of the per-rank "expert" of receiving rank <paramref name="rank"/> (clear of expert ids).</summary>
    public static int RankKey(int rank) => 1000 + rank;

    /// <summary>Element of the expert output of operation <paramref name="op"/> for input element <paramref name="x"/>.</summary>
    public static float Apply(int op, int key, float x, EpDataType type)
    {
        float a = 1f + ((((op * 7) + (key * 3)) % 29) + 1) / 32f;
        float b = ((((op * 5) + key) % 11) - 5) / 64f;
        float product = x * a;
        return Numerics.Round(product + b, type);
    }

    /// <summary>
    /// What home rank <paramref name="home"/> must hold after a combine-route operation <paramref name="op"/>:
    /// Σ over the live slots in order of (w·)y (expert-major) or Σ over the live ranks in order of y (per-rank), in
    /// fp32 (each product rounded, no fused multiply-add), rounded once: element bits of [tokens, hidden].
    /// </summary>
    public static uint[] Combined(EpConfig c, int world, IReadOnlyList<RankBatch> batches, IReadOnlyList<bool> active, int home, int op, bool weighted)
    {
        RankBatch batch = batches[home];
        int k = c.TopK, h = c.Hidden, local = c.LocalExperts(world);
        var result = new uint[batch.Tokens * h];
        var acc = new float[h];
        for (int t = 0; t < batch.Tokens; t++)
        {
            Array.Clear(acc);
            if (c.Layout == EpLayout.ExpertMajor)
            {
                for (int slot = 0; slot < k; slot++)
                {
                    int e = batch.Ids[(t * k) + slot];
                    if (e < 0 || !active[e / local]) continue;
                    Add(acc, batch, t, op, e, c.DataType, weighted ? batch.Weights[(t * k) + slot] : 1f, weighted);
                }
            }
            else
            {
                for (int r = 0; r < world; r++)
                {
                    if (!active[r] || !SendsTo(batch, k, local, t, r)) continue;
                    Add(acc, batch, t, op, RankKey(r), c.DataType, 1f, weighted: false);
                }
            }
            for (int i = 0; i < h; i++) result[(t * h) + i] = Numerics.Encode(acc[i], c.DataType);
        }
        return result;
    }

    private static void Add(float[] acc, RankBatch batch, int t, int op, int key, EpDataType type, float w, bool weighted)
    {
        int h = acc.Length;
        for (int i = 0; i < h; i++)
        {
            float y = Apply(op, key, batch.XAt(t, i), type);
            if (weighted)
            {
                float term = w * y;
                acc[i] += term;
            }
            else
            {
                acc[i] += y;
            }
        }
    }

    private static bool SendsTo(RankBatch batch, int k, int local, int t, int r)
    {
        for (int slot = 0; slot < k; slot++)
        {
            int e = batch.Ids[(t * k) + slot];
            if (e >= 0 && e / local == r) return true;
        }
        return false;
    }
}
