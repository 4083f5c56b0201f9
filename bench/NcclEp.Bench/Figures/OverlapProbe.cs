using System;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>
/// <c>--overlap-work-us N</c>: how much of the communication a send/complete split hides behind the caller's own work.
/// Each rank times, with the ranks lined up before every sample: the plain call (t_comm), the work alone (t_work, a
/// kernel spinning N µs on every SM), and send → work → complete (t_split), for dispatch and for combine. The part of
/// the communication hidden is (t_comm + t_work − t_split) / t_comm, clamped to 0..100 %: 100 % when the split takes no
/// longer than the work, 0 % when it takes as long as the two one after the other. Meaningful on GPUs only (Host calls
/// complete before they return, so nothing overlaps there).
/// </summary>
internal static class OverlapProbe
{
    public const string Formula =
        "hidden = (t_comm + t_work − t_send+work+complete) / t_comm, clamped to 0..100 %; t = median µs over iters after warm-ups, " +
        "slowest rank; t_comm: the plain call; t_work: a kernel spinning --overlap-work-us on every SM";

    /// <summary>One rank's medians (or the slowest rank's, from <see cref="Slowest"/>).</summary>
    public sealed record Result(double WorkUs, double DispatchUs, double DispatchSplitUs, double CombineUs, double CombineSplitUs)
    {
        public double DispatchHiddenPercent => Hidden(DispatchUs, DispatchSplitUs);

        public double CombineHiddenPercent => Hidden(CombineUs, CombineSplitUs);

        private double Hidden(double comm, double split) => comm > 0 ? Math.Clamp((comm + WorkUs - split) / comm, 0, 1) * 100 : double.NaN;
    }

    /// <summary>Times the three of each phase on this rank; the handle must hold a dispatch and the expert outputs of it.</summary>
    public static Result Measure(RankState s, Action meet, int warmups, int iterations, double workUs)
    {
        EpGroup g = s.Group;
        EpHandle h = s.Handle;
        EpStream stream = s.Stream;
        EpTensor expertOutputs = s.ProbeExpertOutputs;
        using IBusyWork work = s.Group.Backend == EpBackendKind.Cuda ? new GpuBusyWork(s, workUs) : new HostBusyWork(workUs);
        double Time(Action body) => ProbeTimer.Median(s, meet, warmups, iterations, body);

        double workOnly = Time(work.Run);
        double dispatch = Time(s.Dispatch);
        double dispatchSplit = Time(() =>
        {
            s.DispatchSend();
            work.Run();
            g.Complete(h, stream);
        });
        double combine = Time(() => g.Combine(h, expertOutputs, s.Combined, stream));
        double combineSplit = Time(() =>
        {
            g.CombineSend(h, expertOutputs, s.Combined, stream);
            work.Run();
            g.Complete(h, stream);
        });
        return new Result(workOnly, dispatch, dispatchSplit, combine, combineSplit);
    }

    /// <summary>Each time is the slowest rank's.</summary>
    public static Result Slowest(Result[] ranks)
    {
        Result r = ranks[0];
        foreach (Result x in ranks)
        {
            r = new Result(Math.Max(r.WorkUs, x.WorkUs), Math.Max(r.DispatchUs, x.DispatchUs), Math.Max(r.DispatchSplitUs, x.DispatchSplitUs),
                Math.Max(r.CombineUs, x.CombineUs), Math.Max(r.CombineSplitUs, x.CombineSplitUs));
        }
        return r;
    }

    /// <summary>The report line.</summary>
    public static string Describe(Result r) => Inv($"overlap (send → {r.WorkUs:0.0} µs of work → complete, slowest rank): dispatch {r.DispatchUs:0.0} µs alone, {r.DispatchSplitUs:0.0} µs with the work, ") +
        Inv($"{r.DispatchHiddenPercent:0} % hidden; combine {r.CombineUs:0.0} µs alone, {r.CombineSplitUs:0.0} µs with the work, {r.CombineHiddenPercent:0} % hidden ") +
        "[hidden = (t_comm + t_work − t_split) / t_comm]";

    private static string Inv(FormattableString text) => FormattableString.Invariant(text);
}
