using System;
using System.Collections.Generic;
using System.Globalization;

namespace NcclEp.Bench;

/// <summary>The options of <c>--procs</c> (parent) and of the child ranks it starts: defaults, checks, child command lines.</summary>
internal static class ProcsOptions
{
    /// <summary>The ranks that run: <c>--world</c> in a child, else <c>--procs</c>, else <c>--ranks</c>.</summary>
    public static int Ranks(int ranks, int procs, int? world) => world ?? (procs > 0 ? procs : ranks);

    /// <summary>A message naming the first bad combination of the process options, or null.</summary>
    public static string? Check(BenchOptions o)
    {
        if (o.Procs < 0) return $"--procs must be at least 1, not {o.Procs}.";
        if (o.ProcsOneGpu && o.Procs == 0 && !o.IsChild) return "--procs-one-gpu goes with --procs.";
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
            "--dtype", BenchNames.DataType(o.DataType),
            "--align", Text(o.Align),
            "--num-sms", Text(o.NumSms),
            "--iters", Text(o.Iters),
            "--warmup", Text(o.Warmup),
            "--steady-ops", Text(o.SteadyOpCount),
            "--seed", Text(o.Seed),
            "--timeout-ms", Text(o.TimeoutMs),
        };
        if (o.Sweep is { } sweep) a.AddRange(["--sweep", BenchNames.Mode(sweep)]);
        else if (o.Mode is { } mode) a.AddRange(["--mode", BenchNames.Mode(mode)]);
        if (o.Validate) a.Add("--validate");
        if (o.HostExperts) a.Add("--host-experts");
        if (o.ProcsOneGpu) a.Add("--procs-one-gpu");
        a.AddRange(["--rank", Text(rank), "--world", Text(o.Procs), "--rendezvous", rendezvous, "--result-file", resultFile]);
        return a;
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
