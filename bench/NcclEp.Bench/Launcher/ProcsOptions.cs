using System;
using System.Collections.Generic;
using System.Globalization;

namespace NcclEp.Bench;

/// <summary>The options of <c>--procs</c> (parent) and of the child ranks it starts: defaults, checks, child command lines.</summary>
internal static class ProcsOptions
{
    /// <summary>The ranks that run: <c>--world</c> in a child, else <c>--procs</c>, else <c>--ranks</c>.</summary>
    public static int Ranks(int ranks, int procs, int? world) => world ?? (procs > 0 ? procs : ranks);

    /// <summary>GPUs per emulated node: 1 with <c>--procs-one-gpu</c>, <c>--procs-node-gpus</c>, or 0 (no emulated nodes: rank r on GPU r).</summary>
    public static int NodeGpus(BenchOptions o) => o.ProcsOneGpu ? 1 : o.ProcsNodeGpus;

    /// <summary>The GPU of process <paramref name="rank"/>.</summary>
    public static int DeviceOf(BenchOptions o, int rank) => NodeGpus(o) is > 0 and int g ? rank % g : rank;

    /// <summary>The <c>NCCL_HOSTID</c> of process <paramref name="rank"/> (its emulated node), or null for the real host's.</summary>
    public static string? HostIdOf(BenchOptions o, int rank) => NodeGpus(o) is > 0 and int g ? $"ncclep-node-{rank / g}" : null;

    /// <summary>Where the processes run, for the report.</summary>
    public static string Placement(BenchOptions o) => NodeGpus(o) switch
    {
        0 => "rank r on GPU r",
        1 => "every rank on GPU 0 as a node of its own (NCCL_HOSTID=ncclep-node-r)",
        int g => $"{o.Procs / g} emulated nodes of {g} ranks on GPUs 0..{g - 1} (NCCL_HOSTID=ncclep-node-n, rank r on GPU r % {g})",
    };

    private static string? CheckNodes(BenchOptions o)
    {
        int g = o.ProcsNodeGpus;
        if (g < 0) return $"--procs-node-gpus must be at least 1, not {g}.";
        if (g == 0) return null;
        if (o.ProcsOneGpu) return "--procs-one-gpu is --procs-node-gpus 1: give one of them.";
        if (o.IsChild) return null;
        if (o.Procs == 0) return "--procs-node-gpus goes with --procs.";
        if (o.Procs % g != 0) return $"--procs {o.Procs} is not a whole number of emulated nodes of --procs-node-gpus {g}.";
        return null;
    }

    /// <summary>A message naming the first bad combination of the process options, or null.</summary>
    public static string? Check(BenchOptions o)
    {
        if (o.Procs < 0) return $"--procs must be at least 1, not {o.Procs}.";
        if (o.ProcsOneGpu && o.Procs == 0 && !o.IsChild) return "--procs-one-gpu goes with --procs.";
        if (CheckNodes(o) is { } nodes) return nodes;
        if (ProcsFault.Check(o) is { } fault) return fault;
        if (o.Procs > 0)
        {
            if (o.IsChild || o.World is not null || o.ResultFile is not null)
                return "--rank, --world and --result-file are set by --procs for its child processes; leave them out.";
            if (o.GivenRanks is { } given && given != o.Procs)
                return $"--ranks {given} and --procs {o.Procs} disagree: with --procs every rank is a process (leave --ranks out).";
            return null;
        }
        if (o.IsChild)
        {
            if (o.World is not { } world || o.Rendezvous is null || o.ResultFile is null)
                return "--rank needs --world, --rendezvous and --result-file (they are set by --procs).";
            if (o.ChildRank < 0 || o.ChildRank >= world) return $"--rank {o.ChildRank} is not a rank of --world {world}.";
            if (o.Backend != BackendChoice.Cuda) return "a child rank runs with --backend cuda only.";
            return null;
        }
        if (o.World is not null || o.ResultFile is not null) return "--world and --result-file go with --rank (they are set by --procs).";
        if (o.Rendezvous is not null) return "--rendezvous goes with --procs.";
        return null;
    }

    /// <summary>
    /// The command line of child <paramref name="rank"/>: every setting of this run spelled out (not the parent's
    /// text: the files the parent writes, --json, --chart, --html, --markdown, stay with the parent), and the
    /// rank, world, rendezvous and result file.
    /// </summary>
    public static List<string> ChildArguments(BenchOptions o, int rank, string rendezvous, string resultFile)
    {
        var a = new List<string>
        {
            "--backend", "cuda",
            "--layout", BenchNames.Layout(o.Layout),
            "--tokens", Text(o.Tokens),
            "--hidden", Text(o.Hidden),
            "--topk", Text(o.TopK),
            "--experts", Text(o.Experts),
            "--dtype", BenchNames.DataType(o),
            "--align", Text(o.Align),
            "--combine", BenchNames.Combine(o.Combine),
            "--routing", BenchNames.Routing(o.RoutesInDispatch),
            "--num-sms", Text(o.NumSms),
            "--iters", Text(o.Iters),
            "--warmup", Text(o.Warmup),
            "--steady-ops", Text(o.SteadyOpCount),
            "--seed", Text(o.Seed),
            "--timeout-ms", Text(o.TimeoutMs),
        };
        if (o.Sweep is { } sweep) a.AddRange(["--sweep", BenchNames.Mode(sweep)]);
        else if (o.Mode is { } mode) a.AddRange(["--mode", BenchNames.Mode(mode)]);
        if (o.Fp8) a.AddRange(["--fp8-scales", BenchNames.Fp8ScalesName(o.Quantization)]);
        if (o.Validate) a.Add("--validate");
        if (o.HostExperts) a.Add("--host-experts");
        if (o.Hierarchical) a.Add("--hierarchical");
        if (o.ProcsOneGpu) a.Add("--procs-one-gpu");
        if (o.ProcsNodeGpus > 0) a.AddRange(["--procs-node-gpus", Text(o.ProcsNodeGpus)]);
        if (o.FaultExitRank is int fault) a.AddRange(["--fault-exit-rank", Text(fault)]);
        a.AddRange(["--rank", Text(rank), "--world", Text(o.Procs), "--rendezvous", rendezvous, "--result-file", resultFile]);
        return a;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
