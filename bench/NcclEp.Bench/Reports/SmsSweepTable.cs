using System;
using System.Collections.Generic;
using System.Globalization;

namespace NcclEp.Bench;

/// <summary>The table of <c>--sms-sweep</c>: one row per numSms value, with its share of the peer-copy ceiling.</summary>
internal static class SmsSweepTable
{
    public static readonly string[] Columns =
    [
        "numSms", "blocks", "dispatch µs", "combine µs", "dispatch GB/s", "combine GB/s", "% of ceiling (dispatch/combine)", "validation",
    ];

    public static List<string[]> Rows(IReadOnlyList<SizeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var rows = new List<string[]>(results.Count);
        foreach (SizeResult r in results)
        {
            rows.Add(
            [
                r.NumSms.ToString(CultureInfo.InvariantCulture),
                BlocksCell(r),
                Units.Micros(r.Dispatch.MedianUs),
                Units.Micros(r.Combine.MedianUs),
                Units.Rate(r.DispatchGBps),
                Units.Rate(r.CombineGBps),
                $"{Units.Percent(r.DispatchPercentOfCeiling)} / {Units.Percent(r.CombinePercentOfCeiling)}",
                ResultTable.Validation(r),
            ]);
        }
        return rows;
    }

    /// <summary>The configured grid, or "dispatch/combine" blocks where a launch took fewer (low latency, sized).</summary>
    internal static string BlocksCell(SizeResult r)
    {
        if (r.Blocks <= 0) return "-";
        (int d, int c) = r.PhaseBlocks;
        return d > 0 && (d != r.Blocks || c != r.Blocks)
            ? string.Create(CultureInfo.InvariantCulture, $"{d}/{c}")
            : r.Blocks.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>What the blocks column means.</summary>
    public const string BlocksNote =
        "blocks = thread blocks per dispatch/combine launch: numSms, clamped to the SMs of the rank's GPU (shared out among co-located ranks); " +
        "low-latency launches take at most this many, twice the jobs of the call (LaunchSizing; NCCLEP_LL_FULL_GRID=1: all of them), shown dispatch/combine where fewer; - on the Host backend";
}
