using System;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// The GPU tests' distinct experts over dispatch-output rows on the host: step <c>op</c>'s test expert
/// (<see cref="AffineExperts.OfOperation"/>) keyed by the row's local expert (expert-major) or the receiving rank (per-rank layouts).
/// </summary>
internal static class LayoutExperts
{
    /// <summary>Rows [first, first + count) of the contiguous layout <paramref name="rows"/> through step <paramref name="op"/>'s expert of each row, into <paramref name="output"/>.</summary>
    public static void Apply(EpConfig c, int world, int rank, byte[] rows, byte[] output, long first, long count, int[] offsets, int op)
    {
        int local = c.LocalExperts(world), rowBytes = c.RowBytes;
        for (long r = first; r < first + count; r++)
        {
            int key = c.Layout != EpLayout.ExpertMajor ? rank : (rank * local) + LocalExpertOf(c, world, r, offsets);
            var at = new Range((int)(r * rowBytes), (int)((r + 1) * rowBytes));
            AffineExperts.ExpertRow(c.DataType, EpPass.Forward, AffineExperts.OfOperation(op, key), rows.AsSpan(at), output.AsSpan(at), c.Hidden);
        }
    }

    private static int LocalExpertOf(EpConfig c, int world, long row, int[] offsets)
    {
        int local = c.LocalExperts(world);
        if (c.Mode == EpMode.LowLatency) return (int)(row / ((long)world * c.MaxTokensPerRank));
        int l = 0;
        while (l + 1 < local && row >= offsets[l + 1]) l++;
        return l;
    }
}
