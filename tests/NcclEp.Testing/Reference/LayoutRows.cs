using System;
using System.Collections.Generic;

namespace NcclEp.Testing;

/// <summary>A run of consecutive rows of the dispatch output: one local expert's or one source rank's rows in use.</summary>
/// <param name="Owner">Local expert (expert-major) or source rank (per-rank layouts).</param>
/// <param name="Start">First row index in the layout (flattened over the leading dimensions).</param>
/// <param name="Count">Rows in use.</param>
public readonly record struct RowRun(int Owner, long Start, int Count);

/// <summary>Which rows of a dispatch output a handle's counts put in use, and which rows the layout defines.</summary>
public static class LayoutRows
{
    /// <summary>Runs in use: per local expert for expert-major, per source rank for rank-major and flat.</summary>
    public static RowRun[] InUse(in EpConfig c, int world, ReadOnlySpan<int> rankCounts, ReadOnlySpan<int> expertCounts, ReadOnlySpan<int> expertOffsets)
    {
        if (c.Layout == EpLayout.ExpertMajor)
        {
            var runs = new RowRun[expertCounts.Length];
            for (int l = 0; l < runs.Length; l++) runs[l] = new RowRun(l, expertOffsets[l], expertCounts[l]);
            return runs;
        }
        var byRank = new RowRun[world];
        long start = 0;
        for (int s = 0; s < world; s++)
        {
            byRank[s] = new RowRun(s, c.Layout == EpLayout.RankMajor ? (long)s * c.MaxTokensPerRank : start, rankCounts[s]);
            start += rankCounts[s];
        }
        return byRank;
    }

    /// <summary>
    /// The row ranges the layout defines after a dispatch (rows in use, and the zero padding of high-throughput
    /// expert-major segments); rows outside them are unspecified.
    /// </summary>
    public static List<(long First, long Count)> Defined(in EpConfig c, int world, ReadOnlySpan<int> rankCounts,
        ReadOnlySpan<int> expertCounts, ReadOnlySpan<int> expertOffsets, int total)
    {
        long m = c.MaxTokensPerRank;
        var ranges = new List<(long, long)>();
        switch (c.Mode, c.Layout)
        {
            case (_, EpLayout.RankMajor):
                for (int r = 0; r < world; r++) ranges.Add((r * m, rankCounts[r]));
                break;
            case (EpMode.LowLatency, EpLayout.ExpertMajor):
                for (int e = 0; e < expertCounts.Length; e++) ranges.Add((e * world * m, expertCounts[e]));
                break;
            case (EpMode.HighThroughput, EpLayout.ExpertMajor):
                ranges.Add((0, expertOffsets[expertCounts.Length]));
                break;
            default:
                ranges.Add((0, total));
                break;
        }
        return ranges;
    }
}
