using System;
using System.CommandLine;
using System.CommandLine.Parsing;

namespace NcclEp.Bench;

/// <summary>Entry point: declares the options and hands them to <see cref="BenchApp"/>.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        Option<string> backend = Choice("--backend", "auto", BenchNames.Backends,
            "host (ranks are threads), cuda (ranks are GPUs), or auto: cuda if a GPU is usable, else host");
        Option<string?> mode = OptionalChoice("--mode", BenchNames.Modes, "ll (low latency, decode) or ht (high throughput) [default: ll]");
        Option<int> ranks = Number("--ranks", 2, "ranks: threads (host) or GPUs (cuda)");
        Option<int> tokens = Number("--tokens", 32, "tokens per rank (with --tokens-per-rank: the most a rank may have, MaxTokensPerRank)");
        Option<int[]?> tokensPerRank = TokensPerRank();
        Option<int> hidden = Number("--hidden", 2048, "elements per token row (multiple of 128, 512..16384)");
        Option<int> topK = Number("--topk", 4, "experts per token");
        Option<int> experts = Number("--experts", 16, "experts in all (a multiple of --ranks)");
        Option<string> layout = Choice("--layout", "expert-major", BenchNames.Layouts,
            "dispatch output: expert-major (ll, ht), rank-major (ll), flat (ht)");
        Option<string> dtype = Choice("--dtype", "bf16", BenchNames.DataTypes,
            "element type of token rows, or fp8: bf16 rows that the dispatch sends and delivers as FP8 E4M3 with a scale per 128 channels");
        Option<string> fp8Scales = Choice("--fp8-scales", "fp32", BenchNames.Fp8Scales,
            "with --dtype fp8: fp32 scales (amax / 448), pow2 (rounded up to powers of two), or ue8m0 (powers of two as packed exponent bytes; hidden % 512)");
        Option<int> align = Number("--align", 1, "ht expert-major: pad each expert's rows to a multiple of this");
        Option<string> combine = Choice("--combine", "per-slot", BenchNames.Combines,
            "expert-major combine: per-slot (a row per (token, top-k slot) home) or per-rank (one fp32 partial per (token, expert rank))");
        Option<string?> routing = OptionalChoice("--routing", BenchNames.Routings,
            "fused: the timed dispatch takes the routing itself (one launch up to 128 tokens on cuda; its time includes the routing); " +
            "separate: Update, then Dispatch, each timed [default: fused with --mode ll, separate with ht]");
        Option<int> numSms = Number("--num-sms", 0, "SMs the kernels may use (0: the backend chooses; ignored by host)");
        Option<int[]?> smsSweep = SmsSweep();
        Option<int> iters = Number("--iters", 50, "timed iterations");
        Option<int> warmup = Number("--warmup", 10, "untimed warm-up iterations first");
        var steadyOps = new Option<int?>("--steady-ops")
        {
            Description = "operations per phase in the back-to-back runs (no host sync between them) [default: max(200, 4 × iters); 0 leaves them out]",
        };
        var validate = new Option<bool>("--validate")
        {
            Description = "check counts, every received row, and dispatch → distinct experts → combine bit for bit against the reference model",
        };
        var hostExperts = new Option<bool>("--host-experts")
        {
            Description = "cuda: run the experts on the host (download, apply, upload; the GPU idles meanwhile) instead of on the GPU",
        };
        var hierarchical = new Option<bool>("--hierarchical")
        {
            Description = "cuda, ht across nodes: hierarchical dispatch (a token crosses to another node once and is forwarded over NVLink there; " +
                "EpGroupOptions.HierarchicalDispatch) [NCCLEP_HIERARCHICAL=1 also sets it]",
        };
        Option<int> overlapWorkUs = Number("--overlap-work-us", 0,
            "also time send → this many µs of work (a kernel on every SM) → complete against the plain calls, and report the part of " +
            "the communication hidden (0: not run)");
        var zeroCopy = new Option<bool>("--zero-copy")
        {
            Description = "ll rank-major: also time the dispatch into the window's own rows (EpGroup.WindowReceiveRows, no copy-out) against the copy",
        };
        var concurrentCompute = new Option<bool>(ConcurrentComputeProbe.OptionName)
        {
            Description = "cuda: also time dispatch and combine beside a compute kernel of the bench (fp32 FMA) on the SMs --num-sms leaves free, " +
                "launched on a second stream, and report both the phases' times and the kernel's TFLOP/s against each alone",
        };
        var timeline = new Option<bool>(BlockTimelineProbe.OptionName)
        {
            Description = "cuda, kernels built with NCCLEP_BLOCK_TIMELINE (NCCLEP_KERNEL_SOURCE_DIR, scripts/gpu-ll-timeline.sh): after the timed loop, " +
                "one update + dispatch + combine back to back, and per rank and kernel when its blocks started and ended (per role), the slowest block " +
                "and the gaps between the kernels",
        };
        var graphStep = new Option<bool>(GraphStepProbe.OptionName)
        {
            Description = "after the timed loop, capture one step per rank (routing, dispatch, the experts, combine) into an EpGraph and replay it: " +
                "median and p90 µs per replay (--iters after --warmup, ranks lined up before each), back-to-back µs per step, and the last " +
                "replay checked bit for bit against the reference (a mismatch fails the run); not with --dtype fp8, --host-experts or --procs",
        };
        Option<int> seed = Number("--seed", 1, "seed of the random routing and token rows");
        var json = new Option<string?>("--json") { Description = "also write machine-readable results to this file" };
        Option<int> timeoutMs = Number("--timeout-ms", 10_000, "longest wait on a peer before the run fails, ms");
        Option<string?> sweep = OptionalChoice("--sweep", BenchNames.Modes,
            "run a list of token counts per rank instead of --tokens: ll 1,2,4..128; ht 512..8192");
        var chart = new Option<string?>("--chart") { Description = "write an SVG chart to this file (ll: latency vs tokens; ht: bandwidth vs tokens)" };
        var html = new Option<string?>("--html") { Description = "write an HTML page with the chart and the table to this file" };
        var markdown = new Option<string?>("--markdown") { Description = "write a results file (device, date, command, table, byte formulas) to this file" };
        var noTerminalChart = new Option<bool>("--no-terminal-chart") { Description = "leave the sweep's bar chart out of the output" };
        Option<int> procs = Number("--procs", 0, "run the ranks as this many processes of this program, one GPU each (needs --backend cuda)");
        var procsOneGpu = new Option<bool>("--procs-one-gpu")
        {
            Description = "with --procs: every process on GPU 0 as a node of its own (NCCL_HOSTID differs), so every peer is reached through NCCL's network " +
                "transport: the network path at any world size on one GPU (tests only: the processes' kernels take turns on the GPU)",
        };
        Option<int> procsNodeGpus = Number("--procs-node-gpus", 0,
            "with --procs: emulated nodes of this many ranks on GPUs 0..N-1, one NCCL_HOSTID per node (NCCL's own transports inside a node, " +
            "sockets between nodes): several nodes on one machine (tests only; 0: rank r on GPU r)");
        var rendezvous = new Option<string?>("--rendezvous") { Description = "with --procs: where the processes meet, file:PATH or tcp:HOST:PORT [default: a fresh file]" };
        var faultExitRank = new Option<int?>("--fault-exit-rank") { Description = "(tests) with --procs: this rank kills its process before its first dispatch", Hidden = true };
        var childRank = new Option<int?>("--rank") { Description = "(set by --procs) this process's rank", Hidden = true };
        var world = new Option<int?>("--world") { Description = "(set by --procs) processes in all", Hidden = true };
        var resultFile = new Option<string?>("--result-file") { Description = "(set by --procs) where this rank writes its times", Hidden = true };

        var root = new RootCommand("NcclEp ep_bench: times expert-parallel dispatch and combine (MoE) and validates them")
        {
            backend, mode, ranks, tokens, tokensPerRank, hidden, topK, experts, layout, dtype, fp8Scales, align, combine, routing, numSms, smsSweep, iters, warmup, steadyOps,
            validate, hostExperts, hierarchical, overlapWorkUs, zeroCopy, concurrentCompute, timeline, graphStep, seed, json, timeoutMs, sweep, chart, html, markdown, noTerminalChart,
            procs, procsOneGpu, procsNodeGpus, faultExitRank, rendezvous, childRank, world, resultFile,
        };
        root.SetAction(parse =>
        {
            string? modeText = parse.GetValue(mode), sweepText = parse.GetValue(sweep), routingText = parse.GetValue(routing);
            var options = new BenchOptions
            {
                Backend = BenchNames.ParseBackend(parse.GetValue(backend)!),
                Mode = modeText is null ? null : BenchNames.ParseMode(modeText),
                Ranks = ProcsOptions.Ranks(parse.GetValue(ranks), parse.GetValue(procs), parse.GetValue(world)),
                GivenRanks = parse.GetResult(ranks) is { Implicit: false } ? parse.GetValue(ranks) : null,
                Tokens = parse.GetResult(tokens) is not { Implicit: false } && parse.GetResult(tokensPerRank) is { Implicit: false } && parse.GetValue(tokensPerRank) is { } counts
                    ? TokensPerRankList.Max(counts) : parse.GetValue(tokens),
                TokensPerRank = parse.GetResult(tokensPerRank) is { Implicit: false } ? parse.GetValue(tokensPerRank) : null,
                Hidden = parse.GetValue(hidden),
                TopK = parse.GetValue(topK),
                Experts = parse.GetValue(experts),
                Layout = BenchNames.ParseLayout(parse.GetValue(layout)!),
                DataType = BenchNames.ParseDataType(parse.GetValue(dtype)!),
                Fp8 = parse.GetValue(dtype) == "fp8",
                Fp8Scales = parse.GetResult(fp8Scales) is { Implicit: false } ? BenchNames.ParseFp8Scales(parse.GetValue(fp8Scales)!) : null,
                Align = parse.GetValue(align),
                Combine = BenchNames.ParseCombine(parse.GetValue(combine)!),
                FusedRouting = routingText is null ? null : BenchNames.ParseRouting(routingText),
                NumSms = parse.GetValue(numSms),
                SmsSweep = parse.GetResult(smsSweep) is { Implicit: false } ? parse.GetValue(smsSweep) : null, // GetValue of an array option not given is [], not null
                Iters = parse.GetValue(iters),
                Warmup = parse.GetValue(warmup),
                SteadyOps = parse.GetValue(steadyOps),
                Validate = parse.GetValue(validate),
                HostExperts = parse.GetValue(hostExperts),
                Hierarchical = parse.GetValue(hierarchical),
                OverlapWorkUs = parse.GetValue(overlapWorkUs),
                ZeroCopy = parse.GetValue(zeroCopy),
                ConcurrentCompute = parse.GetValue(concurrentCompute),
                Timeline = parse.GetValue(timeline),
                GraphStep = parse.GetValue(graphStep),
                Seed = parse.GetValue(seed),
                JsonPath = parse.GetValue(json),
                TimeoutMs = parse.GetValue(timeoutMs),
                Sweep = sweepText is null ? null : BenchNames.ParseMode(sweepText),
                ChartPath = parse.GetValue(chart),
                HtmlPath = parse.GetValue(html),
                MarkdownPath = parse.GetValue(markdown),
                NoTerminalChart = parse.GetValue(noTerminalChart),
                Procs = parse.GetValue(procs),
                ProcsOneGpu = parse.GetValue(procsOneGpu),
                ProcsNodeGpus = parse.GetValue(procsNodeGpus),
                FaultExitRank = parse.GetValue(faultExitRank),
                Rendezvous = parse.GetValue(rendezvous),
                ChildRank = parse.GetValue(childRank),
                World = parse.GetValue(world),
                ResultFile = parse.GetValue(resultFile),
            };
            return BenchApp.Run(options, args);
        });

        ParseResult result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (ParseError e in result.Errors) Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine("Run with --help for the options.");
            return ExitCodes.Usage;
        }
        return result.Invoke();
    }

    private static Option<int> Number(string name, int defaultValue, string description) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue };

    /// <summary><c>--sms-sweep LIST|default</c>: a bad list is a parse error naming the option (exit 2, like any bad option).</summary>
    private static Option<int[]?> SmsSweep() => new(SmsSweepList.OptionName)
    {
        Description = "re-run the one size once per numSms value, e.g. 8,16,32,64,96,132; 'default' is " +
            SmsSweepList.Format(SmsSweepList.Default) + " (no effect on the Host backend)",
        HelpName = "list|default",
        Arity = ArgumentArity.ExactlyOne,
        CustomParser = result =>
        {
            if (SmsSweepList.TryParse(result.Tokens.Count == 1 ? result.Tokens[0].Value : null, out int[] values, out string error)) return values;
            result.AddError(error);
            return null;
        },
    };

    /// <summary><c>--tokens-per-rank LIST</c>: a bad entry is a parse error naming the option (exit 2, like any bad option).</summary>
    private static Option<int[]?> TokensPerRank() => new(TokensPerRankList.OptionName)
    {
        Description = "each rank's own token count, one per rank (--ranks of them), e.g. 128,0: an uneven decode batch (a rank may have 0 tokens " +
            "and still receives and sends back its peers' rows); --tokens is then the most a rank may have (MaxTokensPerRank), " +
            "and left out it is the largest count [default: every rank --tokens]; not with --sweep or --procs",
        HelpName = "list",
        Arity = ArgumentArity.ExactlyOne,
        CustomParser = result =>
        {
            if (TokensPerRankList.TryParse(result.Tokens.Count == 1 ? result.Tokens[0].Value : null, out int[] values, out string error)) return values;
            result.AddError(error);
            return null;
        },
    };

    private static Option<string> Choice(string name, string defaultValue, string[] choices, string description)
    {
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.AcceptOnlyFromAmong(choices);
        return option;
    }

    private static Option<string?> OptionalChoice(string name, string[] choices, string description)
    {
        var option = new Option<string?>(name) { Description = description };
        option.AcceptOnlyFromAmong(choices);
        return option;
    }
}
