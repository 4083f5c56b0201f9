using System;
using System.Collections.Generic;
using NcclEp;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>Which backend the bench asked for on the command line.</summary>
internal enum BackendChoice
{
    Auto,
    Host,
    Cuda,
}

/// <summary>Everything the command line sets; defaults make a run of a few seconds on the Host backend.</summary>
internal sealed record BenchOptions
{
    public BackendChoice Backend { get; init; } = BackendChoice.Auto;
    /// <summary><c>--mode</c> as given (null: not given; low latency unless sweeping).</summary>
    public EpMode? Mode { get; init; }
    public int Ranks { get; init; } = 2;
    /// <summary>
    /// <c>--tokens</c>: tokens per rank, the most a rank may have (<see cref="EpConfig.MaxTokensPerRank"/>). With
    /// <c>--tokens-per-rank</c> and no <c>--tokens</c>, the command line sets it to the list's largest count.
    /// </summary>
    public int Tokens { get; init; } = 32;

    /// <summary>
    /// <c>--tokens-per-rank</c>: each rank's own token count (an uneven batch; 0 allowed), one per rank, each at most
    /// <see cref="Tokens"/>; null: every rank has <see cref="Tokens"/>.
    /// </summary>
    public int[]? TokensPerRank { get; init; }
    public int Hidden { get; init; } = 2048;
    public int TopK { get; init; } = 4;
    public int Experts { get; init; } = 16;
    public EpLayout Layout { get; init; } = EpLayout.ExpertMajor;
    public EpDataType DataType { get; init; } = EpDataType.BFloat16;

    /// <summary><c>--dtype fp8</c>: bf16 rows dispatched as FP8 E4M3 with the scales of <see cref="Fp8Scales"/>.</summary>
    public bool Fp8 { get; init; }

    /// <summary><c>--fp8-scales</c> when given (null: not given; fp32 scales with <c>--dtype fp8</c>).</summary>
    public EpDispatchQuantization? Fp8Scales { get; init; }

    /// <summary>The dispatch's FP8 recipe, or None.</summary>
    public EpDispatchQuantization Quantization => Fp8 ? Fp8Scales ?? EpDispatchQuantization.Float8E4M3 : EpDispatchQuantization.None;
    public int Align { get; init; } = 1;

    /// <summary><c>--combine</c>: expert-major's combine reduction (per-slot rows or per-rank partials, <see cref="EpConfig.CombineReduction"/>).</summary>
    public EpCombineReduction Combine { get; init; }
    public int NumSms { get; init; }

    /// <summary><c>--routing</c> as given: true fused, false separate, null not given (see <see cref="RoutesInDispatch"/>).</summary>
    public bool? FusedRouting { get; init; }

    /// <summary>
    /// Whether the timed dispatch takes the routing itself (<c>EpGroup.Dispatch(handle, topkIds, topkWeights, tokens,
    /// received)</c>: one launch up to 128 tokens on Cuda), so its times include the routing and no Update is timed; else
    /// Update, then Dispatch, each timed. <c>--routing</c>, by default fused in low-latency mode (a decode step) and
    /// separate in high-throughput mode.
    /// </summary>
    public bool RoutesInDispatch => FusedRouting ?? EffectiveMode == EpMode.LowLatency;
    public int Iters { get; init; } = 50;
    public int Warmup { get; init; } = 10;

    /// <summary><c>--steady-ops</c>: operations per back-to-back run, or null for the default; 0 leaves those runs out.</summary>
    public int? SteadyOps { get; init; }

    /// <summary>Back-to-back operations per phase: <c>--steady-ops</c>, else max(200, 4 × iters).</summary>
    public int SteadyOpCount => SteadyOps ?? Math.Max(200, Iters * 4);
    public bool Validate { get; init; }

    /// <summary><c>--overlap-work-us</c>: µs of the caller's work between each send and its complete (0: the overlap probe does not run). See OverlapProbe.</summary>
    public int OverlapWorkUs { get; init; }

    /// <summary><c>--concurrent-compute</c>: also time each phase beside a compute kernel on the SMs NcclEp leaves free (Cuda only). See ConcurrentComputeProbe.</summary>
    public bool ConcurrentCompute { get; init; }

    /// <summary><c>--zero-copy</c>: also time the dispatch into the window's rows against the copy (low-latency rank-major). See ZeroCopyProbe.</summary>
    public bool ZeroCopy { get; init; }
    /// <summary><c>--timeline</c>: after the timed loop, one operation's block timeline per rank and kernel (Cuda, NCCLEP_BLOCK_TIMELINE kernels). See BlockTimelineProbe.</summary>
    public bool Timeline { get; init; }

    /// <summary><c>--graph-step</c>: after the timed loop, one step (routing, dispatch, experts, combine) captured per rank into an EpGraph and replayed, timed and checked. See GraphStepProbe.</summary>
    public bool GraphStep { get; init; }

    /// <summary><c>--host-experts</c>: the Cuda backend runs the experts on the host (download, apply, upload), as the Host backend does, instead of its GPU kernel.</summary>
    public bool HostExperts { get; init; }
    public int Seed { get; init; } = 1;
    public string? JsonPath { get; init; }
    /// <summary><c>--chart</c>: an SVG chart (LL: latency vs tokens; HT: bandwidth vs tokens).</summary>
    public string? ChartPath { get; init; }
    /// <summary><c>--html</c>: an HTML page embedding the chart and the table.</summary>
    public string? HtmlPath { get; init; }
    /// <summary><c>--markdown</c>: a results file for bench/results (device, date, command, table, byte formulas).</summary>
    public string? MarkdownPath { get; init; }
    /// <summary><c>--no-terminal-chart</c>: leave the sweep's chart out of the output.</summary>
    public bool NoTerminalChart { get; init; }
    public int TimeoutMs { get; init; } = 10_000;

    /// <summary><c>--hierarchical</c>: <see cref="EpGroupOptions.HierarchicalDispatch"/> (HT across nodes; also NCCLEP_HIERARCHICAL=1).</summary>
    public bool Hierarchical { get; init; }

    /// <summary>
    /// The groups' options: the time-out, <c>--hierarchical</c>, and the topology the GPU scripts set in the environment
    /// (NCCLEP_FORCE_NETWORK, NCCLEP_NODE_SIZE, NCCLEP_HIERARCHICAL; <see cref="TopologyEnvironment"/>).
    /// </summary>
    public EpGroupOptions GroupOptions() => TopologyEnvironment.Apply(
        new EpGroupOptions { PeerTimeout = TimeSpan.FromMilliseconds(TimeoutMs), HierarchicalDispatch = Hierarchical });

    /// <summary><c>--procs N</c>: run N ranks as N child processes of this program, one GPU each (0: not set). See ProcsLauncher.</summary>
    public int Procs { get; init; }
    /// <summary>
    /// <c>--procs-one-gpu</c>: every process of <c>--procs</c> on GPU 0, each with its own <c>NCCL_HOSTID</c>, so NCCL
    /// sees one node per process and reaches every peer through its network transport: the network path at more ranks
    /// than GPUs. The processes' kernels take turns on the GPU, so the times mean nothing; validation does.
    /// </summary>
    public bool ProcsOneGpu { get; init; }
    /// <summary>
    /// <c>--procs-node-gpus G</c> (0: not set): the processes of <c>--procs</c> form emulated nodes of G ranks on GPUs
    /// 0..G-1, one <c>NCCL_HOSTID</c> per node: NCCL's own transports inside a node, sockets between nodes.
    /// </summary>
    public int ProcsNodeGpus { get; init; }
    /// <summary><c>--fault-exit-rank R</c> (tests only, hidden): that rank kills its process before its first dispatch. See <see cref="ProcsFault"/>.</summary>
    public int? FaultExitRank { get; init; }
    /// <summary><c>--rendezvous file:PATH|tcp:HOST:PORT</c>: where the processes of <c>--procs</c> meet (default: a fresh file).</summary>
    public string? Rendezvous { get; init; }
    /// <summary>Child mode (set by the parent of <c>--procs</c>): this process's rank, or null.</summary>
    public int? ChildRank { get; init; }
    /// <summary>Child mode: <c>--world</c>, the processes in all (then <see cref="Ranks"/> too).</summary>
    public int? World { get; init; }
    /// <summary><c>--ranks</c> when given on the command line (null: the default), to catch a clash with <c>--procs</c>.</summary>
    public int? GivenRanks { get; init; }
    /// <summary>Child mode: where this rank writes its phase times (JSON).</summary>
    public string? ResultFile { get; init; }

    /// <summary>Whether this process is one rank started by <c>--procs</c>.</summary>
    public bool IsChild => ChildRank is not null;

    /// <summary>Set by <c>--sweep</c>: run the mode's list of token counts instead of <see cref="Tokens"/>.</summary>
    public EpMode? Sweep { get; init; }

    /// <summary>Set by <c>--sms-sweep</c>: run the one size once per numSms value, in order, instead of <see cref="NumSms"/>.</summary>
    public int[]? SmsSweep { get; init; }

    /// <summary>The mode that runs: the sweep's mode when sweeping, else <see cref="Mode"/>.</summary>
    public EpMode EffectiveMode => Sweep ?? Mode ?? EpMode.LowLatency;

    /// <summary>Token counts per rank to run, in order.</summary>
    public int[] TokenCounts() => Sweep switch
    {
        EpMode.LowLatency => [1, 2, 4, 8, 16, 32, 64, 128],
        EpMode.HighThroughput => [512, 1024, 2048, 4096, 8192],
        _ => [Tokens],
    };

    /// <summary>Each rank's token count at a point of <paramref name="tokens"/> tokens per rank: <see cref="TokensPerRank"/> when given, else <paramref name="tokens"/> each.</summary>
    public int[] RankTokens(int tokens)
    {
        if (TokensPerRank is not null) return (int[])TokensPerRank.Clone();
        var counts = new int[Ranks];
        Array.Fill(counts, tokens);
        return counts;
    }

    /// <summary>numSms values to run, in order.</summary>
    public int[] SmsValues() => SmsSweep ?? [NumSms];

    /// <summary>Every configuration to run, in order: each token count, and for each its numSms values.</summary>
    public List<RunPoint> RunPoints()
    {
        var points = new List<RunPoint>();
        foreach (int tokens in TokenCounts())
            foreach (int sms in SmsValues()) points.Add(new RunPoint(tokens, sms));
        return points;
    }

    /// <summary>The group configuration for <paramref name="tokens"/> tokens per rank.</summary>
    public EpConfig ToConfig(int tokens) => ToConfig(new RunPoint(tokens, NumSms));

    /// <summary>The group configuration of one point of the run.</summary>
    public EpConfig ToConfig(RunPoint point) =>
        new(EffectiveMode, Experts, Hidden, TopK, point.Tokens, Layout, DataType, point.NumSms, Align) { DispatchQuantization = Quantization, CombineReduction = Combine };

    /// <summary>A message naming the first bad option, or null; the library's checks (EpConfig) worded with the option names.</summary>
    public string? Check()
    {
        if (Ranks < 1) return $"--ranks must be at least 1, not {Ranks}.";
        if (CheckTokensPerRank() is { } perRank) return perRank;
        if (Tokens < 1) return $"--tokens must be at least 1, not {Tokens}.";
        if (Iters < 1) return $"--iters must be at least 1, not {Iters}.";
        if (Warmup < 0) return $"--warmup must not be negative, not {Warmup}.";
        if (SteadyOps < 0) return $"--steady-ops must not be negative, not {SteadyOps}.";
        if (TimeoutMs < 1) return $"--timeout-ms must be positive, not {TimeoutMs}.";
        if (ProcsOptions.Check(this) is { } procs) return procs;
        if (Sweep is not null && Mode is not null && Mode != Sweep)
            return $"--sweep {BenchNames.Mode(Sweep.Value)} and --mode {BenchNames.Mode(Mode.Value)} disagree; leave --mode out when sweeping.";
        if (CheckSmsSweep() is { } sms) return sms;
        if (CheckProbes() is { } probes) return probes;
        if (CheckConcurrentCompute() is { } concurrent) return concurrent;
        if (BlockTimelineProbe.Check(this) is { } timeline) return timeline;
        if (GraphStepProbe.Check(this) is { } graphStep) return graphStep;
        if (Fp8Scales is not null && !Fp8) return $"--fp8-scales {BenchNames.Fp8ScalesName(Fp8Scales.Value)} goes with --dtype fp8.";
        foreach (RunPoint point in RunPoints())
        {
            if (ToConfig(point).FindProblem(Ranks) is { } problem) return ConfigOptionErrors.Describe(problem, this, point);
        }
        return null;
    }

    /// <summary>What <c>--tokens-per-rank</c> cannot go with (its entries themselves are checked when parsed, by <see cref="TokensPerRankList"/>).</summary>
    private string? CheckTokensPerRank()
    {
        if (TokensPerRank is not { } counts) return null;
        const string name = TokensPerRankList.OptionName;
        if (Procs > 0 || IsChild) return $"{name} runs the ranks as threads of this process; leave --procs out.";
        if (Sweep is not null)
            return $"{name} sets each rank's tokens of one size; it does not go with --sweep (whose sizes are every rank's).";
        if (counts.Length != Ranks)
            return $"{name} gives {counts.Length} token count{(counts.Length == 1 ? "" : "s")} for --ranks {Ranks}; give exactly one per rank.";
        if (TokensPerRankList.Max(counts) == 0)
            return $"{name} {TokensPerRankList.Format(counts)} gives no rank a token, so nothing would move; give at least one rank a token.";
        for (int r = 0; r < counts.Length; r++)
        {
            if (counts[r] > Tokens)
                return $"{name} gives rank {r} {counts[r]} tokens, more than --tokens {Tokens} (the most a rank may have); raise --tokens or leave it out (it is then the largest count).";
        }
        return null;
    }

    /// <summary>What <c>--sms-sweep</c> cannot go with (its list itself is checked when parsed, by <see cref="SmsSweepList"/>).</summary>
    private string? CheckSmsSweep()
    {
        if (SmsSweep is null) return null;
        if (SmsSweep.Length == 0) return $"{SmsSweepList.OptionName} needs at least one value.";
        if (Sweep is not null)
            return $"{SmsSweepList.OptionName} re-runs one size; it does not go with --sweep (pick the size with --tokens).";
        if (NumSms != 0)
            return $"{SmsSweepList.OptionName} sets numSms for each run; leave --num-sms out.";
        if (Procs > 0 || IsChild)
            return $"{SmsSweepList.OptionName} runs the ranks as threads of this process; leave --procs out.";
        return null;
    }

    /// <summary>What <c>--overlap-work-us</c> and <c>--zero-copy</c> cannot go with.</summary>
    private string? CheckProbes()
    {
        if (OverlapWorkUs < 0) return $"--overlap-work-us must not be negative, not {OverlapWorkUs}.";
        if ((OverlapWorkUs > 0 || ZeroCopy) && (Procs > 0 || IsChild))
            return "--overlap-work-us and --zero-copy run with the ranks as threads of this process; leave --procs out.";
        if (ZeroCopy && Fp8)
            return "--zero-copy does not go with --dtype fp8: the window's rows are bf16-sized and an FP8 dispatch delivers its rows and scales outside it (docs/fp8.md).";
        if (ZeroCopy && (EffectiveMode != EpMode.LowLatency || Layout != EpLayout.RankMajor))
            return $"--zero-copy needs --mode ll --layout rank-major: only that layout's rows are the window's messages (not {BenchNames.Mode(EffectiveMode)} {BenchNames.Layout(Layout)}).";
        return null;
    }

    /// <summary>What <c>--concurrent-compute</c> cannot go with (the Host backend chosen by auto is refused once it is chosen, BenchApp).</summary>
    private string? CheckConcurrentCompute()
    {
        if (!ConcurrentCompute) return null;
        if (Backend == BackendChoice.Host) return ConcurrentComputeProbe.HostRefusal;
        if (Procs > 0 || IsChild) return $"{ConcurrentComputeProbe.OptionName} runs with the ranks as threads of this process; leave --procs out.";
        if (NumSms == 0 && SmsSweep is null)
            return $"{ConcurrentComputeProbe.OptionName} runs its kernel on the SMs that --num-sms leaves free; give --num-sms N (or --sms-sweep LIST) below the GPU's SMs.";
        return null;
    }

    /// <summary>One line with every setting, for the output and the JSON file.</summary>
    public string Describe() =>
        $"mode={BenchNames.Mode(EffectiveMode)} layout={BenchNames.Layout(Layout)} ranks={Ranks} " +
        (Sweep is not null ? $"tokens/rank={string.Join(',', TokenCounts())} (sweep) "
            : TokensPerRank is not null ? $"tokens/rank={TokensPerRankList.Format(TokensPerRank)} (per rank, max {Tokens}) "
            : $"tokens/rank={Tokens} ") +
        $"hidden={Hidden} topk={TopK} experts={Experts} ({Experts / Math.Max(1, Ranks)} per rank) dtype={BenchNames.DataType(this)}{(Fp8 ? $" fp8-scales={BenchNames.Fp8ScalesName(Quantization)}" : "")} " +
        $"align={Align} combine={BenchNames.Combine(Combine)} routing={BenchNames.Routing(RoutesInDispatch)} num-sms={(SmsSweep is null ? SmsSweepList.Format([NumSms]) : SmsSweepList.Format(SmsSweep) + " (sms-sweep)")} " +
        $"iters={Iters} warmup={Warmup} seed={Seed}" + (Fp8 ? " experts-step=host (fp8: dequantize)" : HostExperts ? " experts-step=host" : "") + (Hierarchical ? " hierarchical" : "") +
        (OverlapWorkUs > 0 ? $" overlap-work-us={OverlapWorkUs}" : "") + (ZeroCopy ? " zero-copy" : "") + (ConcurrentCompute ? " concurrent-compute" : "") + (Timeline ? " timeline" : "") + (GraphStep ? " graph-step" : "");
}
