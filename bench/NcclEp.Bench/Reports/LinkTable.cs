using System;
using System.Collections.Generic;
using System.Globalization;

namespace NcclEp.Bench;

/// <summary>
/// The link bound of each row of a run (tokens per rank, or numSms for <c>--sms-sweep</c>), beside ep_bench's GB/s per
/// rank and the NCCL all-to-all baseline: per phase, the median, the GB/s per rank, the busiest rank's remote bytes, the
/// time those take at the link's bandwidth (one 1 GiB peer copy in the same run) and the phase's % of that bound.
/// Where the link was not measured (Host backend, co-located ranks, <c>--procs</c>) its cells read "n/a".
/// </summary>
internal static class LinkTable
{
    public static string[] Columns(bool bySms) =>
    [
        bySms ? "numSms" : "tokens/rank", "link GB/s",
        "dispatch µs", "dispatch GB/s/rank (ep_bench)", "dispatch busiest-rank remote MB", "dispatch link bound µs", "dispatch % of link", "dispatch NCCL a2a µs",
        "combine µs", "combine GB/s/rank (ep_bench)", "combine busiest-rank remote MB", "combine link bound µs", "combine % of link", "combine NCCL a2a µs",
    ];

    /// <summary>A row per result.</summary>
    public static List<string[]> Rows(IReadOnlyList<SizeResult> results, bool bySms)
    {
        ArgumentNullException.ThrowIfNull(results);
        var rows = new List<string[]>(results.Count);
        foreach (SizeResult r in results)
        {
            PeerCopyBytes bytes = r.Ceiling.Bytes;
            rows.Add(
            [
                (bySms ? r.NumSms : r.Tokens).ToString(CultureInfo.InvariantCulture),
                Units.RateOrNa(r.Link.GBps),
                .. PhaseCells(r.Dispatch, r.DispatchGBpsEpBench, bytes.BusiestRankDispatchBytes, r.DispatchLinkBoundUs, r.DispatchPercentOfLink, r.Baseline.DispatchUs),
                .. PhaseCells(r.Combine, r.CombineGBpsEpBench, bytes.BusiestRankCombineBytes, r.CombineLinkBoundUs, r.CombinePercentOfLink, r.Baseline.CombineUs),
            ]);
        }
        return rows;
    }

    /// <summary>One phase's six cells, in the order of <see cref="Columns"/>.</summary>
    private static string[] PhaseCells(PhaseStats phase, double epBench, long busiestRankBytes, double boundUs, double percentOfLink, double baselineUs) =>
    [
        Units.Micros(phase.MedianUs), Units.Rate(epBench), ResultTable.Megabytes(busiestRankBytes),
        Units.MicrosOrNa(boundUs), Units.PercentOrNa(percentOfLink), Units.MicrosOrNa(baselineUs),
    ];

    /// <summary>
    /// The formulas, how the link was measured (or, for the rows without one, why not) and how the baseline was run
    /// (or why not), with the worked bytes of the largest row.
    /// </summary>
    public static List<string> Lines(IReadOnlyList<SizeResult> results, bool bySms)
    {
        ArgumentNullException.ThrowIfNull(results);
        var lines = new List<string>();
        if (results.Count == 0) return lines;
        SizeResult last = results[^1];
        string at = bySms ? string.Create(CultureInfo.InvariantCulture, $"at numSms {last.NumSms}: ") : string.Create(CultureInfo.InvariantCulture, $"at {last.Tokens} tokens/rank: ");
        lines.Add(SizeResult.EpBenchFormula);
        lines.Add(at + last.EpBenchBytes());
        lines.Add(LinkResult.Formula);
        lines.Add(at + last.Ceiling.Bytes.BusiestRankFormula());
        AddOnceOrPerRow(lines, results, bySms, r => r.Link.Measured ? null : r.Link.NotMeasured, $"link: {LinkResult.Method}", "link: not measured, link bound n/a: ");
        AddOnceOrPerRow(lines, results, bySms, r => r.Baseline.NotRun, $"baseline: {BaselineResult.Method}", "baseline: ");
        return lines;
    }

    /// <summary>
    /// Where no row has the figure, one line with the first reason; otherwise how it was taken, then a line for each
    /// row without it.
    /// </summary>
    private static void AddOnceOrPerRow(List<string> lines, IReadOnlyList<SizeResult> results, bool bySms,
        Func<SizeResult, string?> whyNot, string method, string notPrefix)
    {
        bool none = true;
        foreach (SizeResult r in results) none &= whyNot(r) is not null;
        if (none)
        {
            lines.Add(notPrefix + whyNot(results[0]));
            return;
        }
        lines.Add(method);
        foreach (SizeResult r in results)
        {
            string? why = whyNot(r);
            if (why is null) continue;
            string row = bySms ? $"numSms {r.NumSms}" : $"{r.Tokens} tokens/rank";
            lines.Add($"{notPrefix.TrimEnd(' ', ':')} at {row}: {why}");
        }
    }
}
