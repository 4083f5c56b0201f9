using System;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>What one backend's run of a case gave: every rank's outputs and, expert-major, each rank's recvMessageRows.</summary>
internal sealed record BackendResult(RankResult[] Ranks, int[][] MessageRows);

/// <summary>
/// Runs one case on one backend: Update → Dispatch (or, routed, the dispatch that routes itself) → experts → Combine, then the backward pass (Combine backward of a
/// gradient, the experts' backward, Dispatch backward of theirs), and downloads every output a rank owns (rows past the
/// counts included), after checking that nothing outside an output tensor was written.
/// </summary>
internal static class BackendRun
{
    public static BackendResult Run(EpGroup[] groups, RankBatch[] inputs, bool routed = false)
    {
        var results = new RankResult[groups.Length];
        var messageRows = new int[groups.Length][];
        using var barrier = new System.Threading.Barrier(groups.Length);
        RankThreads.RunOnce(groups.Length, rank => (results[rank], messageRows[rank]) = RunRank(groups[rank], inputs[rank], barrier, routed), TimeSpan.FromMinutes(3));
        return new BackendResult(results, messageRows);
    }

    private static (RankResult, int[]) RunRank(EpGroup g, RankBatch input, System.Threading.Barrier barrier, bool routed)
    {
        int world = g.WorldSize;
        using var me = new GuardedRank(g);
        me.Load(input);

        // Co-located ranks share a GPU: allocation and set-up must not overlap another rank's waiting kernels.
        if (!barrier.SignalAndWait(TimeSpan.FromSeconds(60))) throw new TimeoutException("A peer rank did not reach the barrier (it failed earlier).");
        Mark(g, 0);
        GpuTrace.Line($"{g.Backend} rank {g.Rank}/{world}: set up");
        if (!routed) me.Update();
        Mark(g, 1);
        if (routed) me.RoutedDispatch();
        else me.Dispatch();
        Mark(g, 2);
        GpuTrace.Line($"{g.Backend} rank {g.Rank}/{world}: update and dispatch launched");
        me.Combine();
        Mark(g, 3);
        me.CombineBackward();
        Mark(g, 4);
        me.DispatchBackward();
        Mark(g, 5);
        GpuTrace.Line($"{g.Backend} rank {g.Rank}/{world}: launched");
        try { me.Sync(); }
        finally { Mark(g, 6); }
        GpuTrace.Line($"{g.Backend} rank {g.Rank}/{world}: synchronised");
        if (!barrier.SignalAndWait(TimeSpan.FromSeconds(60))) throw new TimeoutException("A peer rank did not reach the barrier (it failed earlier).");

        string? guards = me.Guards();
        if (guards is not null) throw new CheckFailedException($"{g.Backend} rank {g.Rank}: {guards}");
        return (me.Collect(), me.MessageRows());
    }

    /// <summary>The Cuda ranks' timeline only: the Host oracle runs the same steps beside them.</summary>
    private static void Mark(EpGroup g, int step)
    {
        if (g.Backend == EpBackendKind.Cuda) LaunchTimeline.Mark(g.Rank, step);
    }
}
