using System;
using NcclEp;
using NcclEp.Graphs;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>
/// <c>--graph-step</c>: a whole decode step as a caller would replay it. After the timed loop each rank captures one
/// <see cref="GraphStep"/> (routing, dispatch, the bench's distinct experts, combine) into an <see cref="EpGraph"/> and
/// replays it: <c>--warmup</c> replays, then <c>--iters</c> replays each bracketed by the rank's timer (CUDA events on
/// Cuda, Stopwatch on Host, whose replays run on the rank thread), the ranks lined up before every replay as the timed
/// loop lines them up before every phase; then <c>--iters</c> replays back to back, no host sync between them, one
/// timer pair around them all. The last replay's outputs are then checked against the reference model
/// (<see cref="Validator"/>, what <c>--validate</c> checks), after the outputs were cleared before the back-to-back run,
/// so a replay that wrote nothing, or wrote other bits, fails the run.
/// </summary>
internal static class GraphStepProbe
{
    public const string OptionName = "--graph-step";

    /// <summary>What the figures are, for the outputs.</summary>
    public const string Method =
        "one EpGraph per rank captured after the timed loop (routing, dispatch, the bench's distinct experts, combine), replayed --warmup times, " +
        "then --iters times with the ranks lined up before each replay and the rank's timer around it (CUDA events on the stream; Host: Stopwatch, " +
        "its replays run on the rank thread): median and p90 per rank, slowest rank; back-to-back = one timer pair around --iters replays " +
        "queued with no host sync between them / --iters; the last replay's counts, received rows and combined output checked bit for bit " +
        "against the reference model (the outputs are cleared before the back-to-back replays)";

    /// <summary>The byte the combined rows are set to before the back-to-back replays: a row no replay wrote then differs from the reference.</summary>
    private const byte Cleared = 0xA5;

    /// <summary>
    /// One rank's figures (or the slowest rank's, from <see cref="Slowest"/>): the replays' median and p90, back-to-back µs
    /// per step, the replays timed, the graph's nodes (Cuda) or recorded calls (Host), managed bytes the timed and
    /// back-to-back replays allocated (a replay is data path: 0), and the check of the last replay's outputs (null: they
    /// matched the reference).
    /// </summary>
    public sealed record Result(PhaseStats Replay, double BackToBackUs, int Replays, int Nodes, long AllocatedBytes, string? Mismatch)
    {
        public bool Passed => Mismatch is null;
    }

    /// <summary>What the option cannot go with, or null.</summary>
    public static string? Check(BenchOptions options)
    {
        if (!options.GraphStep) return null;
        if (options.Procs > 0 || options.IsChild) return $"{OptionName} runs with the ranks as threads of this process; leave --procs out.";
        if (options.Fp8)
        {
            return $"{OptionName} does not go with --dtype fp8: the bench's experts dequantize FP8 rows on the host (download, apply, upload), " +
                "which a captured step cannot hold.";
        }
        if (options.HostExperts)
        {
            return $"{OptionName} captures the experts in the step (one GPU kernel on cuda); --host-experts runs them on the host with downloads " +
                "and uploads, which a captured step cannot hold: leave it out.";
        }
        return null;
    }

    /// <summary>Captures, replays and times the step on this rank, then checks the last replay's outputs.</summary>
    public static Result Measure(RankState s, Action meet, Workload work, int warmups, int replays)
    {
        Result timed = Replay(s, meet, warmups, replays);
        return timed with { Mismatch = CheckLastReplay(s, work) };
    }

    /// <summary>The capture and the replays (<see cref="Measure"/> without the check); the outputs are those of the last replay.</summary>
    public static Result Replay(RankState s, Action meet, int warmups, int replays)
    {
        EpGroup g = s.Group;
        IPhaseTimer timer = s.Timer;
        using GpuAffineExperts? kernel = g.Backend == EpBackendKind.Cuda ? new GpuAffineExperts(g) : null;
        var step = new GraphStep(s, new ExpertsWork(s.Handle, s.Received, s.ExpertOutputs, EpPass.Forward, kernel));
        var samples = new double[replays];
        meet();  // every rank has loaded its experts' module before any rank captures
        using EpGraph graph = EpGraph.Capture(g, s.Stream, ref step);
        long allocated = 0;
        for (int i = 0; i < warmups + replays; i++)
        {
            meet();
            timer.Begin(BenchPhase.Update);
            long before = GC.GetAllocatedBytesForCurrentThread();
            graph.Replay();
            if (i >= warmups) allocated += GC.GetAllocatedBytesForCurrentThread() - before;  // a warm-up may fill lazy caches once
            timer.End(BenchPhase.Update);
            s.Backend.Synchronize(g, s.Stream);
            g.CheckErrors();
            if (i >= warmups) samples[i - warmups] = timer.ElapsedMicroseconds(BenchPhase.Update);
        }

        // What the check reads must come from the replays below: nothing the timed loop or an earlier replay left.
        meet();  // no rank's replay is still writing
        s.ReceivedBuffer.Fill(0);
        s.ExpertOutputsBuffer.Fill(0);
        s.CombinedBuffer.Fill(Cleared);
        meet();
        timer.Begin(BenchPhase.Update);
        long start = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < replays; i++) graph.Replay();
        allocated += GC.GetAllocatedBytesForCurrentThread() - start;
        timer.End(BenchPhase.Update);
        s.Backend.Synchronize(g, s.Stream);
        g.CheckErrors();
        double backToBack = timer.ElapsedMicroseconds(BenchPhase.Update) / replays;
        return new Result(PhaseStats.Of(samples), backToBack, replays, graph.NodeCount, allocated, Mismatch: null);
    }

    /// <summary>The last replay's counts, received rows and combined rows against the reference model (<see cref="Validator"/>); null when they match.</summary>
    public static string? CheckLastReplay(RankState s, Workload work) =>
        Validator.Check(s, work).Mismatch is { } mismatch ? "graph step, last replay: " + mismatch : null;

    /// <summary>Each time the slowest rank's, the largest allocation, and the first mismatch.</summary>
    public static Result Slowest(Result[] ranks)
    {
        ArgumentNullException.ThrowIfNull(ranks);
        var replay = new PhaseStats[ranks.Length];
        for (int i = 0; i < ranks.Length; i++) replay[i] = ranks[i].Replay;
        Result r = ranks[0] with { Replay = PhaseStats.MaxOver(replay) };
        foreach (Result x in ranks)
        {
            r = r with
            {
                BackToBackUs = Math.Max(r.BackToBackUs, x.BackToBackUs),
                Nodes = Math.Max(r.Nodes, x.Nodes),
                AllocatedBytes = Math.Max(r.AllocatedBytes, x.AllocatedBytes),
                Mismatch = r.Mismatch ?? x.Mismatch,
            };
        }
        return r;
    }

    /// <summary>The run's validation with the graph step's check in it: a mismatch fails the run, with or without <c>--validate</c>.</summary>
    public static ValidationSummary WithCheck(ValidationSummary validation, Result? graphStep)
    {
        ArgumentNullException.ThrowIfNull(validation);
        if (graphStep?.Mismatch is not { } mismatch) return validation;
        return new ValidationSummary(true, validation.Rows, validation.Tokens, validation.Mismatch ?? mismatch);
    }

    /// <summary>The report line.</summary>
    public static string Describe(Result r, bool routingInDispatch) =>
        Inv($"graph step (routing+dispatch+experts+combine): median {r.Replay.MedianUs:0.0} µs, p90 {r.Replay.P90Us:0.0} µs, back-to-back {r.BackToBackUs:0.0} µs per step, {r.Replays} replays") +
        Inv($" [slowest rank; routing {BenchNames.Routing(routingInDispatch)}; {r.Nodes} graph nodes; replays allocated {r.AllocatedBytes} B; last replay ") +
        (r.Passed ? "matches the reference bit for bit]" : $"FAILED: {r.Mismatch}]");

    private static string Inv(FormattableString text) => FormattableString.Invariant(text);
}
