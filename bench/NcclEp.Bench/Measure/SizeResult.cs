using System;
using System.Collections.Generic;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>Everything one configuration (one token count, one numSms) measured.</summary>
internal sealed record SizeResult(
    EpConfig Config,
    int Ranks,
    int Iterations,
    int Warmups,
    PhaseStats Update,
    PhaseStats Dispatch,
    PhaseStats Combine,
    Traffic Traffic,
    ValidationSummary Validation,
    CeilingResult Ceiling,
    int Blocks)
{
    /// <summary>
    /// Whether the dispatch took the routing itself (<c>--routing fused</c>): its times include the routing, and
    /// <see cref="Update"/> is <see cref="PhaseStats.NotRun"/>.
    /// </summary>
    public bool RoutingInDispatch { get; init; }

    /// <summary>The dispatch phase's name in the tables: "dispatch (incl. routing)" when it took the routing itself.</summary>
    public string DispatchLabel => RoutingInDispatch ? "dispatch (incl. routing)" : "dispatch";

    /// <summary>Each rank's own token count (<c>--tokens-per-rank</c>), in rank order; when not set, <see cref="Tokens"/> each.</summary>
    public IReadOnlyList<int> TokensPerRank
    {
        get => _tokensPerRank ?? Array.ConvertAll(new int[Ranks], _ => Tokens);
        init => _tokensPerRank = value;
    }

    private readonly IReadOnlyList<int>? _tokensPerRank;

    /// <summary>
    /// Blocks each dispatch and combine launch of this size took (sized in low latency), the most over the ranks (each
    /// sized by its own tokens); (0, 0) on the Host backend.
    /// </summary>
    public (int Dispatch, int Combine) PhaseBlocks { get; init; }

    /// <summary>The link's bandwidth, measured in the same run (one 1 GiB peer copy), or why not.</summary>
    public LinkResult Link { get; init; } = LinkResult.Skipped("not measured by this runner");

    /// <summary>The NCCL all-to-all baseline of the same routing, or why it did not run.</summary>
    public BaselineResult Baseline { get; init; } = BaselineResult.Skipped("not run by this runner");

    /// <summary>The overlap probe's slowest-rank figures (<c>--overlap-work-us</c>), or null where it did not run.</summary>
    public OverlapProbe.Result? Overlap { get; init; }

    /// <summary>The zero-copy probe's slowest-rank figures (<c>--zero-copy</c>), or null where it did not run.</summary>
    public ZeroCopyProbe.Result? ZeroCopy { get; init; }

    /// <summary>The concurrent-compute figures (<c>--concurrent-compute</c>), or null where they were not measured.</summary>
    public ConcurrentComputeProbe.Result? Concurrent { get; init; }

    /// <summary>The captured step's slowest-rank figures (<c>--graph-step</c>), or null where it did not run.</summary>
    public GraphStepProbe.Result? GraphStep { get; init; }

    /// <summary>Each rank's block timeline of one operation (<c>--timeline</c>), or null where it did not run.</summary>
    public IReadOnlyList<OperationTimeline>? Timeline { get; init; }

    /// <summary>Tokens per rank: the most a rank may have (MaxTokensPerRank); each rank's own are <see cref="TokensPerRank"/>.</summary>
    public int Tokens => Config.MaxTokensPerRank;

    /// <summary>The numSms this configuration asked for (0: the backend's choice).</summary>
    public int NumSms => Config.NumSms;

    /// <summary>All ranks' dispatch bytes over the slowest rank's median dispatch time.</summary>
    public double DispatchGBps => Units.GigabytesPerSecond(Traffic.DispatchBytes, Dispatch.MedianUs);

    /// <summary>All ranks' combine bytes over the slowest rank's median combine time.</summary>
    public double CombineGBps => Units.GigabytesPerSecond(Traffic.CombineBytes, Combine.MedianUs);

    /// <summary>ep_bench's GB/s per rank as the outputs state it.</summary>
    public const string EpBenchFormula =
        "GB/s per rank (ep_bench) = valid (token, expert) selections of all ranks / ranks × hidden × element bytes / the slowest " +
        "rank's median (1 GB = 10^9 B), the same bytes for dispatch and combine: the convention of NCCL EP's and DeepEP's tables; " +
        "an FP8 dispatch counts the bytes it sends per row (hidden × 1 B + its scales), its combine bf16";

    /// <summary>The bytes behind <see cref="EpBenchGBpsPerRank"/>, with their figures.</summary>
    public string EpBenchBytes() =>
        $"ep_bench bytes per rank = {Traffic.Slots} selections / {Ranks} ranks × {Config.Hidden} × {Config.DataType.SizeInBytes()} B = " +
        Units.Megabytes(Traffic.Slots * Config.RowBytes / Ranks) +
        (Config.IsDispatchQuantized
            ? $"; FP8 dispatch: × {Traffic.DispatchRowText(Config, general: false)} = {Units.Megabytes(Traffic.Slots * Config.DispatchRowBytes / Ranks)}"
            : "");

    /// <summary>
    /// ep_bench's convention (NCCL EP, DeepEP), the same bytes for both phases: valid (token, expert) selections of all
    /// ranks / ranks × hidden × element bytes, over the slowest rank's median time of <paramref name="phase"/>, in GB/s.
    /// </summary>
    public double EpBenchGBpsPerRank(PhaseStats phase) => EpBenchGBpsPerRank(phase, Config.RowBytes);

    private double EpBenchGBpsPerRank(PhaseStats phase, int rowBytes) =>
        phase.MedianUs > 0 ? (double)Traffic.Slots * rowBytes / Ranks / (phase.MedianUs * 1e3) : 0;

    /// <summary>The dispatch at ep_bench's GB/s per rank (<see cref="EpBenchGBpsPerRank"/>), with the bytes a dispatched row moves (FP8: hidden + scales).</summary>
    public double DispatchGBpsEpBench => EpBenchGBpsPerRank(Dispatch, Config.DispatchRowBytes);

    /// <summary>The combine at ep_bench's GB/s per rank (<see cref="EpBenchGBpsPerRank"/>).</summary>
    public double CombineGBpsEpBench => EpBenchGBpsPerRank(Combine);

    /// <summary>The busiest rank's remote dispatch bytes at the link's bandwidth, in µs (NaN where the link was not measured).</summary>
    public double DispatchLinkBoundUs => Link.BoundUs(Ceiling.Bytes.BusiestRankDispatchBytes);

    /// <summary>The busiest rank's remote combine bytes at the link's bandwidth, in µs (NaN where the link was not measured).</summary>
    public double CombineLinkBoundUs => Link.BoundUs(Ceiling.Bytes.BusiestRankCombineBytes);

    /// <summary>Link bound / dispatch time, in percent (NaN where the link was not measured).</summary>
    public double DispatchPercentOfLink => LinkResult.PercentOf(DispatchLinkBoundUs, Dispatch);

    /// <summary>Link bound / combine time, in percent (NaN where the link was not measured).</summary>
    public double CombinePercentOfLink => LinkResult.PercentOf(CombineLinkBoundUs, Combine);

    /// <summary>Peer-copy ceiling time / dispatch time, in percent (NaN where the ceiling was not measured).</summary>
    public double DispatchPercentOfCeiling => CeilingResult.PercentOf(Ceiling.Dispatch, Dispatch, Ceiling.Measured);

    /// <summary>Peer-copy ceiling time / combine time, in percent (NaN where the ceiling was not measured).</summary>
    public double CombinePercentOfCeiling => CeilingResult.PercentOf(Ceiling.Combine, Combine, Ceiling.Measured);
}
