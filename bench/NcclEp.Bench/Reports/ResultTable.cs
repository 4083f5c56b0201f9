using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>
/// The sweep table as text cells (the columns of the console's sweep table) and the lines around it, for the
/// files a run writes (<c>--markdown</c>, <c>--html</c>).
/// </summary>
internal static class ResultTable
{
    private static readonly SearchValues<char> NeedsQuotes = SearchValues.Create(" \t\"'$`\\;&|<>()*?[]{}");

    public static readonly string[] Columns =
    [
        "tokens/rank", "update µs", "dispatch µs", "dispatch p90", "dispatch MB", "dispatch GB/s", "dispatch GB/s/rank (ep_bench)",
        "dispatch % of link", "dispatch % of ceiling", "combine µs", "combine p90", "combine MB", "combine GB/s", "combine GB/s/rank (ep_bench)",
        "combine % of link", "combine % of ceiling", "validation",
    ];

    /// <summary>The run's main table: one row per numSms for <c>--sms-sweep</c>, else one per token count.</summary>
    public static (string[] Columns, List<string[]> Rows) ForRun(BenchOptions options, IReadOnlyList<SizeResult> results)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.SmsSweep is not null ? (SmsSweepTable.Columns, SmsSweepTable.Rows(results)) : (Columns, Rows(results));
    }

    public static List<string[]> Rows(IReadOnlyList<SizeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var rows = new List<string[]>(results.Count);
        foreach (SizeResult r in results)
        {
            rows.Add(
            [
                r.Tokens.ToString(CultureInfo.InvariantCulture),
                Units.MicrosOrDash(r.Update.MedianUs),
                Units.Micros(r.Dispatch.MedianUs),
                Units.Micros(r.Dispatch.P90Us),
                Megabytes(r.Traffic.DispatchBytes),
                Units.Rate(r.DispatchGBps),
                Units.Rate(r.DispatchGBpsEpBench),
                Units.PercentOrNa(r.DispatchPercentOfLink),
                Units.Percent(r.DispatchPercentOfCeiling),
                Units.Micros(r.Combine.MedianUs),
                Units.Micros(r.Combine.P90Us),
                Megabytes(r.Traffic.CombineBytes),
                Units.Rate(r.CombineGBps),
                Units.Rate(r.CombineGBpsEpBench),
                Units.PercentOrNa(r.CombinePercentOfLink),
                Units.Percent(r.CombinePercentOfCeiling),
                Validation(r),
            ]);
        }
        return rows;
    }

    /// <summary>The validation cell: "-" (not run), "passed" or "FAILED".</summary>
    public static string Validation(SizeResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return !r.Validation.Ran ? "-" : r.Validation.Passed ? "passed" : "FAILED";
    }

    /// <summary>The byte formulas (general form), then the worked figures of the largest size, the ceiling's included.</summary>
    public static List<string> Formulas(IReadOnlyList<SizeResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var lines = new List<string>();
        if (results.Count == 0) return lines;
        SizeResult last = results[^1];
        int size = last.Config.DataType.SizeInBytes();
        lines.Add($"dispatch bytes = Σ over (token, destination rank) pairs × {Traffic.DispatchRowText(last.Config, general: true)} (remote + local, all ranks)");
        lines.Add($"combine bytes = Σ over {BenchNames.CombineRows(last.Config)} × hidden × {size} B (remote + local, all ranks)");
        lines.Add($"at {last.Tokens} tokens/rank: {last.Traffic.DispatchFormula(last.Config)}");
        lines.Add($"at {last.Tokens} tokens/rank: {last.Traffic.CombineFormula(last.Config)}");
        lines.Add($"at {last.Tokens} tokens/rank: {last.Ceiling.Bytes.DispatchFormula(last.Config)}");
        lines.Add($"at {last.Tokens} tokens/rank: {last.Ceiling.Bytes.CombineFormula(last.Config)}");
        return lines;
    }

    /// <summary>How the times and rates are taken.</summary>
    public static string TimingNote(BenchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return string.Create(CultureInfo.InvariantCulture,
            $"times: median and p90 over {options.Iters} iterations after {options.Warmup} warm-ups, per rank, slowest rank shown; ") +
            "GB/s = bytes of all ranks / slowest rank's median (1 GB = 10^9 B); MB = 10^6 B; " + RoutingNote(options.RoutesInDispatch);
    }

    /// <summary>What the update and dispatch columns hold under <c>--routing</c>.</summary>
    public static string RoutingNote(bool fused) => fused
        ? "routing fused (--routing fused): the dispatch takes the routing itself (one launch up to 128 tokens on Cuda), so its times include the routing and no update is timed (\"-\")"
        : "routing separate (--routing separate): Update, then Dispatch, each timed";

    /// <summary>The command line as typed (arguments with spaces quoted).</summary>
    public static string Arguments(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var s = new StringBuilder();
        foreach (string a in args)
        {
            if (s.Length > 0) s.Append(' ');
            bool quote = a.Length == 0 || a.AsSpan().IndexOfAny(NeedsQuotes) >= 0;
            s.Append(quote ? "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'" : a);
        }
        return s.ToString();
    }

    /// <summary>Where the run was: cores, OS and runtime (the device is in the backend line).</summary>
    public static string Machine() =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.OSArchitecture}; {RuntimeInformation.FrameworkDescription}");

    /// <summary>Megabytes without the unit (the column header has it).</summary>
    public static string Megabytes(long bytes) => Units.Megabytes(bytes).Replace(" MB", "", StringComparison.Ordinal);
}
