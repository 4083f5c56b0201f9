using System;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>
/// <c>--zero-copy</c> (low-latency rank-major): the dispatch into the caller's buffer against the dispatch into the window's
/// own rows (<see cref="EpGroup.WindowReceiveRows"/>), which copies nothing out; and whether the two hold the same rows.
/// Both take the routing themselves under <c>--routing fused</c>.
/// </summary>
internal static class ZeroCopyProbe
{
    /// <summary>One rank's medians (or the slowest rank's) and whether the rows agreed.</summary>
    public sealed record Result(double CopyUs, double WindowUs, bool SameRows)
    {
        public double SavedUs => CopyUs - WindowUs;
    }

    public static Result Measure(RankState s, Action meet, int warmups, int iterations)
    {
        EpGroup g = s.Group;
        double Time(Action body) => ProbeTimer.Median(s, meet, warmups, iterations, body);
        double copy = Time(() => s.Dispatch(s.Received));
        double window = Time(() => s.Dispatch(g.WindowReceiveRows()));
        return new Result(copy, window, SameRows(s, meet));
    }

    public static Result Slowest(Result[] ranks)
    {
        Result r = ranks[0];
        foreach (Result x in ranks) r = new Result(Math.Max(r.CopyUs, x.CopyUs), Math.Max(r.WindowUs, x.WindowUs), r.SameRows && x.SameRows);
        return r;
    }

    public static string Describe(Result r) => Inv($"zero-copy receive (slowest rank): dispatch into the caller's buffer {r.CopyUs:0.0} µs, into the window's rows {r.WindowUs:0.0} µs, ") +
        Inv($"{r.SavedUs:0.0} µs saved; rows {(r.SameRows ? "identical" : "DIFFER")}");

    /// <summary>One more dispatch of each kind, then every row in use compared byte for byte (read back row by row).</summary>
    private static bool SameRows(RankState s, Action meet)
    {
        EpGroup g = s.Group;
        meet();
        s.Dispatch(s.Received);
        EpTensor window = g.WindowReceiveRows();
        meet();
        s.Dispatch(window);
        s.Backend.Synchronize(g, s.Stream);
        g.CheckErrors();
        var counts = new int[g.WorldSize];
        s.Read(s.Handle.ReceivedRankCounts.Data, counts);
        int rowBytes = s.Config.RowBytes, size = s.Config.DataType.SizeInBytes();
        var copied = new byte[rowBytes];
        var inWindow = new byte[rowBytes];
        bool same = true;
        for (int src = 0; src < counts.Length; src++)
        {
            for (int i = 0; i < counts[src]; i++)
            {
                s.Backend.CopyToHost(g, s.Received.Data + (nint)(((src * s.Received.Stride(0)) + (i * s.Received.Stride(1))) * size), copied);
                s.Backend.CopyToHost(g, window.Data + (nint)(((src * window.Stride(0)) + (i * window.Stride(1))) * size), inWindow);
                same &= copied.AsSpan().SequenceEqual(inWindow);
            }
        }
        meet();
        return same;
    }

    private static string Inv(FormattableString text) => FormattableString.Invariant(text);
}
