using System;
using System.Diagnostics;

namespace NcclEp.Bench;

/// <summary>
/// <c>--fault-exit-rank R</c> (tests only): rank R kills its own process just after the barrier before its first
/// dispatch, as a node that dies in the middle of a step. The other ranks are then inside a dispatch whose NCCL
/// send/recv with R can never finish; they must fail on their own within their time-out (the network watchdog aborts
/// the communicator), not hang until the parent stops them.
/// </summary>
internal static class ProcsFault
{
    /// <summary>The barrier this rank uses: the plain one, or for rank R one that kills the process at its second call.</summary>
    public static Action Meet(BenchOptions options, int rank, Action barrier)
    {
        if (options.FaultExitRank != rank) return barrier;
        int meetings = 0;
        return () =>
        {
            barrier();
            if (++meetings < 2) return;  // the first is before Update, the second before Dispatch
            Console.Out.WriteLine($"exiting on purpose before its first dispatch (--fault-exit-rank {rank})");
            Console.Out.Flush();
            using Process self = Process.GetCurrentProcess();
            self.Kill();  // SIGKILL: no clean-up, as when a node is lost
        };
    }

    /// <summary>A message naming the bad value, or null.</summary>
    public static string? Check(BenchOptions o)
    {
        if (o.FaultExitRank is not int r) return null;
        if (o.IsChild) return r >= 0 && r < o.World ? null : $"--fault-exit-rank {r} is not a rank of --world {o.World}.";
        if (o.Procs == 0) return "--fault-exit-rank goes with --procs.";
        return r >= 0 && r < o.Procs ? null : $"--fault-exit-rank {r} is not a rank of --procs {o.Procs}.";
    }
}
