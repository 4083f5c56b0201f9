using System;
using System.Collections.Generic;
using System.Globalization;

namespace NcclEp.Bench;

/// <summary>
/// The <c>--concurrent-compute</c> figures of each row of a run that measured them (console and Markdown): per phase, the
/// phase alone and beside the compute kernel, their ratio, and the kernel's TFLOP/s alone and beside the phase with the
/// part it kept.
/// </summary>
internal static class ConcurrentTable
{
    public static readonly string[] Columns =
    [
        "tokens/rank", "numSms", "SMs left",
        "dispatch µs alone", "dispatch µs with compute", "dispatch ratio", "compute TFLOP/s alone (dispatch)", "compute TFLOP/s with dispatch", "compute kept (dispatch)",
        "combine µs alone", "combine µs with compute", "combine ratio", "compute TFLOP/s alone (combine)", "compute TFLOP/s with combine", "compute kept (combine)",
    ];

    /// <summary>A row per result with the figures (none where the option was not given).</summary>
    public static List<string[]> Rows(IReadOnlyList<SizeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var rows = new List<string[]>();
        foreach (SizeResult r in results)
        {
            if (r.Concurrent is not { } c) continue;
            rows.Add(
            [
                Whole(r.Tokens), Whole(r.NumSms), Whole(c.SmsLeft),
                .. PhaseCells(c.Dispatch),
                .. PhaseCells(c.Combine),
            ]);
        }
        return rows;
    }

    /// <summary>How the figures are computed, where any row has them.</summary>
    public static List<string> Lines(IReadOnlyList<SizeResult> results) =>
        Rows(results).Count > 0 ? ["concurrent compute: " + ConcurrentComputeProbe.Formula] : [];

    private static string[] PhaseCells(ConcurrentComputeProbe.Phase p) =>
    [
        Units.Micros(p.EpAloneUs), Units.Micros(p.EpConcurrentUs), Ratio(p.EpRatio),
        Units.Rate(p.ComputeAloneTflops), Units.Rate(p.ComputeConcurrentTflops), Units.Percent(p.ComputeKeptPercent),
    ];

    private static string Ratio(double ratio) => "× " + ratio.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Whole(int value) => value.ToString(CultureInfo.InvariantCulture);
}
