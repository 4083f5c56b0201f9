using System;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>
/// Reference counts computed on the host from the routing alone: what each rank must receive, and the bytes
/// dispatch and combine move (all ranks together, remote + local; remote stated apart).
/// </summary>
internal sealed class Traffic
{
    private Traffic(int ranks, int localExperts)
    {
        RecvRankCounts = new int[ranks][];
        RecvExpertCounts = new int[ranks][];
        RecvSlotCounts = new int[ranks][];
        for (int r = 0; r < ranks; r++)
        {
            RecvRankCounts[r] = new int[ranks];
            RecvExpertCounts[r] = new int[localExperts];
            RecvSlotCounts[r] = new int[ranks];
        }
    }

    /// <summary>[receiver][source]: tokens of the source with at least one expert on the receiver.</summary>
    public int[][] RecvRankCounts { get; }

    /// <summary>[receiver][local expert]: (token, slot) pairs of all sources routed to that expert.</summary>
    public int[][] RecvExpertCounts { get; }

    /// <summary>[receiver][source]: (token, slot) pairs of the source routed to an expert on the receiver.</summary>
    public int[][] RecvSlotCounts { get; }

    /// <summary>(token, destination rank) pairs over all ranks, and those whose destination is another rank.</summary>
    public long Pairs { get; private set; }
    public long RemotePairs { get; private set; }

    /// <summary>(token, top-k slot) pairs with an expert, and those whose expert lives on another rank.</summary>
    public long Slots { get; private set; }
    public long RemoteSlots { get; private set; }

    /// <summary>Rows dispatch moves (one per (token, destination rank)).</summary>
    public long DispatchRows => Pairs;
    public long RemoteDispatchRows => RemotePairs;

    /// <summary>Rows combine moves home: one per (token, slot) for expert-major, one per (token, rank) otherwise.</summary>
    public long CombineRows { get; private set; }
    public long RemoteCombineRows { get; private set; }

    public long DispatchBytes { get; private set; }
    public long RemoteDispatchBytes { get; private set; }
    public long CombineBytes { get; private set; }
    public long RemoteCombineBytes { get; private set; }

    /// <summary>Rows the dispatch output of rank <paramref name="rank"/> holds (unpadded).</summary>
    public long ReceivedRows(int rank, EpLayout layout)
    {
        long rows = 0;
        int[] counts = layout == EpLayout.ExpertMajor ? RecvExpertCounts[rank] : RecvRankCounts[rank];
        foreach (int c in counts) rows += c;
        return rows;
    }

    public static Traffic Compute(Workload work)
    {
        EpConfig c = work.Config;
        int ranks = work.Ranks, local = work.LocalExperts, k = work.TopK;
        var traffic = new Traffic(ranks, local);
        var seen = new bool[ranks];
        for (int s = 0; s < ranks; s++)
        {
            ReadOnlySpan<int> ids = work.Ids(s);
            for (int t = 0; t < work.Tokens(s); t++)  // the rank's own tokens: an uneven batch moves only those
            {
                Array.Clear(seen);
                for (int slot = 0; slot < k; slot++)
                {
                    int e = ids[(t * k) + slot];
                    if (e < 0) continue;
                    int r = e / local;
                    traffic.RecvExpertCounts[r][e % local]++;
                    traffic.RecvSlotCounts[r][s]++;
                    traffic.Slots++;
                    if (r != s) traffic.RemoteSlots++;
                    if (seen[r]) continue;
                    seen[r] = true;
                    traffic.RecvRankCounts[r][s]++;
                    traffic.Pairs++;
                    if (r != s) traffic.RemotePairs++;
                }
            }
        }

        // Expert-major sends a row per (token, top-k slot) home; per-rank partials, like the per-rank layouts, one per (token, rank).
        bool perSlot = c.Layout == EpLayout.ExpertMajor && !c.CombinesPartials;
        traffic.CombineRows = perSlot ? traffic.Slots : traffic.Pairs;
        traffic.RemoteCombineRows = perSlot ? traffic.RemoteSlots : traffic.RemotePairs;
        traffic.DispatchBytes = traffic.DispatchRows * c.DispatchRowBytes;
        traffic.RemoteDispatchBytes = traffic.RemoteDispatchRows * c.DispatchRowBytes;
        traffic.CombineBytes = traffic.CombineRows * c.RowBytes;
        traffic.RemoteCombineBytes = traffic.RemoteCombineRows * c.RowBytes;
        return traffic;
    }

    /// <summary>The dispatch formula with its figure.</summary>
    public string DispatchFormula(in EpConfig c) =>
        $"dispatch bytes = Σ over (token, destination rank) pairs × {DispatchRowText(c, general: true)} (remote + local, all ranks) = " +
        $"{DispatchRows} × {DispatchRowText(c, general: false)} = {Units.Megabytes(DispatchBytes)} (remote {Units.Megabytes(RemoteDispatchBytes)})";

    /// <summary>
    /// The bytes one dispatched row moves (the message header left out): <c>hidden × element size</c>, or for an FP8
    /// dispatch <c>hidden × 1 B + hidden / 128 × scale bytes</c> (EpConfig.DispatchRowBytes).
    /// </summary>
    public static string DispatchRowText(in EpConfig c, bool general)
    {
        if (!c.IsDispatchQuantized)
            return general ? $"hidden × {c.DataType.SizeInBytes()} B" : $"{c.Hidden} × {c.DataType.SizeInBytes()} B";
        int scaleBytes = c.DispatchQuantization == EpDispatchQuantization.Float8E4M3UE8M0 ? 1 : 4;
        return general ? $"(hidden × 1 B FP8 + hidden / 128 × {scaleBytes} B scales)" : $"({c.Hidden} + {c.Hidden / 128} × {scaleBytes}) B";
    }

    /// <summary>The combine formula with its figure.</summary>
    public string CombineFormula(in EpConfig c)
    {
        string what = BenchNames.CombineRows(c);
        return $"combine bytes = Σ over {what} × hidden × {c.DataType.SizeInBytes()} B (remote + local, all ranks) = " +
            $"{CombineRows} × {c.Hidden} × {c.DataType.SizeInBytes()} B = {Units.Megabytes(CombineBytes)} (remote {Units.Megabytes(RemoteCombineBytes)})";
    }
}
