using System;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>
/// Back-to-back timing: each rank queues many operations with no host synchronisation between them, as a
/// decode loop does, and one event pair brackets the whole run. Per-op time = total / count. This is the
/// figure that excludes the per-iteration host barriers and syncs of the phase table. Under <c>--routing fused</c> every
/// dispatch takes the routing itself, so the dispatch figure includes it and the step makes no Update.
/// </summary>
internal static class SteadyState
{
    public readonly record struct Result(double DispatchUs, double CombineUs, double StepUs);

    /// <summary>The report line of a back-to-back run over all ranks (<paramref name="slowest"/>: the slowest rank's times).</summary>
    public static string Describe(int count, Result slowest) => count == 0
        ? "back-to-back: not run (--steady-ops 0)"
        : System.FormattableString.Invariant(
            $"back-to-back ({count} ops per rank, no host sync between them, slowest rank): dispatch {slowest.DispatchUs:0.0} µs, combine {slowest.CombineUs:0.0} µs, routing+dispatch+combine {slowest.StepUs:0.0} µs");

    /// <summary>Runs <paramref name="count"/> of each phase back to back; zero times when <paramref name="count"/> is 0.</summary>
    public static Result Measure(RankState s, Action meet, int count)
    {
        if (count == 0) return default;
        EpGroup group = s.Group;
        EpHandle handle = s.Handle;
        IPhaseTimer timer = s.Timer;
        EpTensor expertOutputs = s.ProbeExpertOutputs;

        meet();
        timer.Begin(BenchPhase.Dispatch);
        for (int i = 0; i < count; i++) s.Dispatch();
        timer.End(BenchPhase.Dispatch);
        s.Backend.Synchronize(group, s.Stream);

        meet();
        timer.Begin(BenchPhase.Combine);
        for (int i = 0; i < count; i++) group.Combine(handle, expertOutputs, s.Combined, s.Stream);
        timer.End(BenchPhase.Combine);
        s.Backend.Synchronize(group, s.Stream);

        meet();
        timer.Begin(BenchPhase.Update);
        for (int i = 0; i < count; i++)
        {
            if (!s.RoutedDispatch) handle.Update(s.Ids, s.Weights, s.Stream);
            s.Dispatch();
            group.Combine(handle, expertOutputs, s.Combined, s.Stream);
        }
        timer.End(BenchPhase.Update);
        s.Backend.Synchronize(group, s.Stream);
        group.CheckErrors();

        return new Result(
            timer.ElapsedMicroseconds(BenchPhase.Dispatch) / count,
            timer.ElapsedMicroseconds(BenchPhase.Combine) / count,
            timer.ElapsedMicroseconds(BenchPhase.Update) / count);
    }
}
