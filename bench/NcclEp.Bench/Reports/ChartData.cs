using System;
using System.Collections.Generic;
using System.Globalization;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>One line of a chart: a phase (or its link bound, drawn dashed) and its value at each x (NaN: none there).</summary>
internal sealed record ChartSeries(string Name, string Color, double[] Values, bool Dashed = false);

/// <summary>
/// What the charts show (terminal, SVG, HTML): latency vs tokens per rank for a low-latency run, bandwidth
/// vs tokens per rank for a high-throughput run (vs numSms for <c>--sms-sweep</c>), one series per phase
/// (dispatch, combine), and where the run measured the link, each phase's link bound as a dashed line (LL: the bound's
/// µs; HT: the GB/s the phase would reach at it). <see cref="XName"/> heads the x column of the plain-text chart.
/// </summary>
internal sealed record ChartData(
    string Title,
    string[] Subtitle,
    string XLabel,
    string YLabel,
    string Unit,
    int[] X,
    ChartSeries[] Series,
    string XName = "tokens")
{
    public const string DispatchColor = "#1f77b4";
    public const string CombineColor = "#d62728";
    public const string DispatchBoundColor = "#7fb2dc";
    public const string CombineBoundColor = "#ee8a8b";

    /// <summary>Whether the chart plots latency (µs); otherwise bandwidth (GB/s).</summary>
    public bool IsLatency => Unit == "µs";

    /// <summary>The chart of a run: latency for LL (median µs, slowest rank), bandwidth for HT (GB/s, all ranks).</summary>
    public static ChartData From(IReadOnlyList<SizeResult> results, BenchOptions options, string backendLine, DateTimeOffset date)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(options);
        bool latency = options.EffectiveMode == EpMode.LowLatency;
        bool bySms = options.SmsSweep is not null;
        var x = new int[results.Count];
        var dispatch = new double[results.Count];
        var combine = new double[results.Count];
        var dispatchBound = new double[results.Count];
        var combineBound = new double[results.Count];
        bool anyLink = false;
        for (int i = 0; i < results.Count; i++)
        {
            SizeResult r = results[i];
            x[i] = bySms ? r.NumSms : r.Tokens;
            dispatch[i] = latency ? r.Dispatch.MedianUs : r.DispatchGBps;
            combine[i] = latency ? r.Combine.MedianUs : r.CombineGBps;
            dispatchBound[i] = latency ? r.DispatchLinkBoundUs : AtBound(r.Traffic.DispatchBytes, r.DispatchLinkBoundUs);
            combineBound[i] = latency ? r.CombineLinkBoundUs : AtBound(r.Traffic.CombineBytes, r.CombineLinkBoundUs);
            anyLink |= r.Link.Measured;
        }

        string mode = BenchNames.Mode(options.EffectiveMode).ToUpperInvariant();
        string run = options.Sweep is null ? "run" : "sweep";
        string versus = bySms ? "numSms" : "tokens per rank";
        if (bySms)
        {
            run = options.TokensPerRank is null
                ? string.Create(CultureInfo.InvariantCulture, $"numSms sweep at {options.Tokens} tokens/rank")
                : $"numSms sweep at tokens/rank {TokensPerRankList.Format(options.TokensPerRank)}";
        }
        string title = latency
            ? $"Latency vs {versus}: {mode} {run}"
            : $"Bandwidth vs {versus}: {mode} {run}";
        string config = string.Create(CultureInfo.InvariantCulture,
            $"{BenchNames.Layout(options.Layout)} · {options.Ranks} ranks · hidden {options.Hidden} · top-{options.TopK} of " +
            $"{options.Experts} experts · {BenchNames.DataType(options)} · align {options.Align} · num-sms {SmsSweepList.Format(options.SmsValues())} · " +
            $"{options.Iters} iters after {options.Warmup} warm-ups · seed {options.Seed}");
        string backend = $"backend: {backendLine} · {date.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC";
        return new ChartData(
            title,
            [config, backend],
            bySms ? "numSms (log scale)" : "tokens per rank (log scale)",
            latency ? "median latency, slowest rank (µs)" : "bandwidth, all ranks (GB/s)",
            latency ? "µs" : "GB/s",
            x,
            anyLink
                ?
                [
                    new ChartSeries("dispatch", DispatchColor, dispatch), new ChartSeries("combine", CombineColor, combine),
                    new ChartSeries("dispatch link bound", DispatchBoundColor, dispatchBound, Dashed: true),
                    new ChartSeries("combine link bound", CombineBoundColor, combineBound, Dashed: true),
                ]
                : [new ChartSeries("dispatch", DispatchColor, dispatch), new ChartSeries("combine", CombineColor, combine)],
            bySms ? "numSms" : "tokens");
    }

    /// <summary>The GB/s (all ranks) a phase moving <paramref name="bytes"/> would reach in its link bound's time (NaN without one).</summary>
    private static double AtBound(long bytes, double boundUs) =>
        double.IsFinite(boundUs) && boundUs > 0 ? Units.GigabytesPerSecond(bytes, boundUs) : double.NaN;

    /// <summary>A value with the precision the tables use.</summary>
    public string Format(double value) => IsLatency ? Units.Micros(value) : Units.Rate(value);
}
