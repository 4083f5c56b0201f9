using System;
using System.Collections.Generic;
using System.Globalization;

namespace NcclEp.Bench;

/// <summary>
/// The peer-copy ceiling of each row of a run (tokens per rank, or numSms for <c>--sms-sweep</c>): copy times, the
/// remote bytes, the copy's GB/s and each phase's share of it; or, where it was not measured, the line saying why.
/// </summary>
internal static class CeilingTable
{
    public static string[] Columns(bool bySms) =>
    [
        bySms ? "numSms" : "tokens/rank",
        "dispatch copy µs", "dispatch remote MB", "dispatch copy GB/s", "dispatch % of ceiling",
        "combine copy µs", "combine remote MB", "combine copy GB/s", "combine % of ceiling",
    ];

    /// <summary>A row per measured result (none where the ceiling was not measured).</summary>
    public static List<string[]> Rows(IReadOnlyList<SizeResult> results, bool bySms)
    {
        ArgumentNullException.ThrowIfNull(results);
        var rows = new List<string[]>(results.Count);
        foreach (SizeResult r in results)
        {
            CeilingResult c = r.Ceiling;
            if (!c.Measured) continue;
            rows.Add(
            [
                (bySms ? r.NumSms : r.Tokens).ToString(CultureInfo.InvariantCulture),
                Units.Micros(c.Dispatch.MedianUs),
                ResultTable.Megabytes(c.Bytes.DispatchBytes),
                Units.RateOrDash(c.DispatchGBps),
                Units.Percent(r.DispatchPercentOfCeiling),
                Units.Micros(c.Combine.MedianUs),
                ResultTable.Megabytes(c.Bytes.CombineBytes),
                Units.RateOrDash(c.CombineGBps),
                Units.Percent(r.CombinePercentOfCeiling),
            ]);
        }
        return rows;
    }

    /// <summary>How the ceiling was taken, and for each row without one, why not (one line when no row has one).</summary>
    public static List<string> Lines(IReadOnlyList<SizeResult> results, bool bySms)
    {
        ArgumentNullException.ThrowIfNull(results);
        var lines = new List<string>();
        if (results.Count == 0) return lines;
        bool none = true;
        foreach (SizeResult r in results) none &= !r.Ceiling.Measured;
        if (none)
        {
            lines.Add(results[0].Ceiling.Line());
            return lines;
        }
        lines.Add($"peer-copy ceiling: {CeilingResult.Method}");
        foreach (SizeResult r in results)
        {
            if (r.Ceiling.Measured) continue;
            string at = bySms ? $"numSms {r.NumSms}" : $"{r.Tokens} tokens/rank";
            lines.Add($"peer-copy ceiling at {at}: not measured: {r.Ceiling.NotMeasured}");
        }
        return lines;
    }
}
