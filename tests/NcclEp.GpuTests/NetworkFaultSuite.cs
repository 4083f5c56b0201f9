using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// <c>--suite network-faults</c> (run with NCCLEP_FORCE_NETWORK=1, scripts/gpu-network.sh): W = 2 on two GPUs, every
/// peer reached through NCCL send/recv, PeerTimeout 500 ms. Rank 1 never launches its Dispatch (then its Combine);
/// rank 0's exchange stays pending, the watchdog aborts its communicator, and rank 0's Synchronize raises
/// <see cref="EpGroupAbortedException"/> (rank 0, the right route) instead of waiting forever; the next call raises it
/// again before launching anything. Ends with "N passed, N failed, N skipped".
/// </summary>
internal static class NetworkFaultSuite
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(500);
    private static readonly GpuCase Case = new(EpMode.LowLatency, EpLayout.ExpertMajor, 2, 512, 4, 8, 8, EpDataType.BFloat16);

    public static int Run(string[] args)
    {
        _ = args;
        var cases = new (string Name, Func<string?> Body)[]
        {
            ("network W=2: rank 1 never launches Dispatch; rank 0's exchange is aborted", () => SilentPeer(stopBefore: 0, seed: 11)),
            ("network W=2: rank 1 never launches Combine; rank 0's exchange is aborted", () => SilentPeer(stopBefore: 1, seed: 12)),
        };
        string? skip = !EpGroup.IsCudaAvailable(out string reason) ? $"no usable GPU ({reason})"
            : !TopologyEnvironment.NetworkForced && TopologyEnvironment.EmulatedNodeSize != 1
                ? "rank 1 is not a network peer: set NCCLEP_FORCE_NETWORK=1 or NCCLEP_NODE_SIZE=1 (scripts/gpu-network.sh does)"
            : Program.DeviceCount() < 2 ? "fewer than 2 GPUs" : null;
        return SuiteCases.Run(cases, skip);
    }

    private static void Trace(string what) => Console.WriteLine($"     [{DateTime.UtcNow:HH:mm:ss.fff}] {what}");

    private static string? SilentPeer(int stopBefore, int seed)
    {
        EpConfig config = Case.Config(Case.Tokens);
        RankBatch[] inputs = FaultSuite.Inputs(Case, seed, round: 0);
        EpGroupAbortedException? aborted = null, again = null;
        Exception? other = null;
        TimeSpan waited = default;
        using (var gpu = new GuardedWorld(EpGroup.CreateCuda(config, new[] { 0, 1 }, TopologyEnvironment.Apply(new EpGroupOptions { PeerTimeout = Timeout }))))
        {
            using var done = new Barrier(2);
            for (int r = 0; r < 2; r++) gpu.Ranks[r].Load(inputs[r]);
            long t0 = Stopwatch.GetTimestamp();
            Trace($"group created: {gpu.Groups[0].FabricDescription}");
            // Milestones on stdout as the watchdog records them (the library's metrics), so a hang shows where it is.
            using var milestones = new LibraryMetrics((instrument, value) =>
            {
                if (instrument == EpMetrics.CommunicatorAborts.Name)
                    Trace($"watchdog began ncclCommAbort at {Stopwatch.GetElapsedTime(t0).TotalMilliseconds:0} ms");
                else if (instrument == EpMetrics.CommunicatorAbortDuration.Name)
                    Trace($"ncclCommAbort returned at {Stopwatch.GetElapsedTime(t0).TotalMilliseconds:0} ms (it took {value * 1000:0} ms)");
            });
            RankThreads.RunOnce(2, rank =>
            {
                GuardedRank me = gpu.Ranks[rank];
                me.Update();
                if (stopBefore > 0) me.Dispatch();
                me.Sync();
                if (rank == 1)
                {
                    done.SignalAndWait(TimeSpan.FromSeconds(60));  // launches nothing more until rank 0 is done
                    return;
                }
                long start = Stopwatch.GetTimestamp();
                try
                {
                    if (stopBefore == 0) me.Dispatch();
                    else me.Combine();
                    me.Sync();
                }
                catch (EpGroupAbortedException e) { (aborted, waited) = (e, Stopwatch.GetElapsedTime(start)); }
                catch (EpException e) { other = e; }
                Trace($"rank 0: the stuck call returned after {Stopwatch.GetElapsedTime(start).TotalMilliseconds:0} ms");
                try { me.Dispatch(); }
                catch (EpGroupAbortedException e) { again = e; }
                done.SignalAndWait(TimeSpan.FromSeconds(60));
            });
            Trace("ranks done; disposing the group");
        }
        Trace("group disposed");

        EpPhase phase = stopBefore == 0 ? EpPhase.DispatchReceive : EpPhase.CombineReceive;
        if (other is not null) return $"rank 0 raised {other.GetType().Name} instead of EpGroupAbortedException: {other.Message}";
        if (aborted is null) return "rank 0: no EpGroupAbortedException";
        if (aborted.Rank != 0 || aborted.Phase != phase) return $"expected (rank 0, {phase}), got (rank {aborted.Rank}, {aborted.Phase}): {aborted.Message}";
        // The abort comes a time-out after the exchange began; the receive half's own bounded wait may add one more.
        if (waited < Timeout * 0.95 || waited > Timeout * 3 + TimeSpan.FromSeconds(2))
            return $"raised {waited.TotalMilliseconds:0} ms after the launch; expected {Timeout.TotalMilliseconds * 0.95:0}..{(Timeout * 3).TotalMilliseconds + 2000:0} ms";
        if (again is null) return "the call after the abort did not raise EpGroupAbortedException";
        Console.WriteLine($"     {aborted.Message} ({waited.TotalMilliseconds:0} ms after the launch)");
        return null;
    }
}
