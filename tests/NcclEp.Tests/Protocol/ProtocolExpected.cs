using System;
using System.Collections.Generic;
using NcclEp.Testing;

namespace NcclEp.Tests.Protocol;

/// <summary>
/// What a combine-route operation of a protocol test must leave at home. Its experts are the shared test experts of
/// that operation (<see cref="AffineExperts.OfOperation"/>), keyed by the expert (expert-major) or the receiving rank
/// (per-rank layouts): every operation, expert and rank gives other rows, so a combine that takes a row of another
/// operation, another slot or another rank cannot match. Computed from the source tokens, independently of the library.
/// </summary>
internal static class ProtocolExpected
{
    /// <summary>Element of operation <paramref name="op"/>'s output for <paramref name="key"/> (an expert, or a receiving rank) and input <paramref name="x"/>.</summary>
    public static float Expert(int op, int key, float x, EpDataType type) =>
        Numerics.Round(AffineExperts.Forward(AffineExperts.OfOperation(op, key), x), type);

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
                    Add(acc, batch, t, op, r, c.DataType, 1f, weighted: false);
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
            float y = Expert(op, key, batch.XAt(t, i), type);
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
