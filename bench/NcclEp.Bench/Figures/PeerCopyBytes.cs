using System;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>
/// The remote rows each rank sends each other rank, per phase, from the routing (<see cref="Traffic"/>): what the
/// peer-copy ceiling copies. Dispatch: a token goes once to every other rank holding one of its experts. Combine:
/// those rows come home, one per (token, top-k slot) for per-slot expert-major, one per (token, rank) otherwise. A rank's
/// own rows cross no link, so the diagonal is zero and the totals equal the tables' "remote" bytes.
/// </summary>
internal sealed class PeerCopyBytes
{
    private PeerCopyBytes(int ranks, int rowBytes)
    {
        Ranks = ranks;
        RowBytes = rowBytes;
        DispatchRows = new long[ranks][];
        CombineRows = new long[ranks][];
        for (int r = 0; r < ranks; r++)
        {
            DispatchRows[r] = new long[ranks];
            CombineRows[r] = new long[ranks];
        }
    }

    public int Ranks { get; }
    public int RowBytes { get; }

    /// <summary>[sender][receiver]: rows the sender dispatches to the receiver (0 on the diagonal).</summary>
    public long[][] DispatchRows { get; }

    /// <summary>[sender][receiver]: rows the sender (an expert holder) sends home to the receiver (0 on the diagonal).</summary>
    public long[][] CombineRows { get; }

    public long TotalDispatchRows { get; private set; }
    public long TotalCombineRows { get; private set; }
    public long DispatchBytes => TotalDispatchRows * DispatchRowBytes;

    /// <summary>Bytes of one dispatched row (FP8: hidden + scales; else <see cref="RowBytes"/>).</summary>
    public int DispatchRowBytes { get; init; }
    public long CombineBytes => TotalCombineRows * RowBytes;

    public long Dispatch(int sender, int receiver) => DispatchRows[sender][receiver] * DispatchRowBytes;

    /// <summary>
    /// The dispatch's remote bytes of its busiest rank: over the ranks, the largest of what one sends to the other
    /// ranks and what it receives from them (each direction of a link carries its own). What the link bound divides.
    /// </summary>
    public long BusiestRankDispatchBytes => BusiestRank(DispatchRows) * DispatchRowBytes;

    /// <summary>The combine's remote bytes of its busiest rank, as <see cref="BusiestRankDispatchBytes"/>.</summary>
    public long BusiestRankCombineBytes => BusiestRank(CombineRows) * RowBytes;

    public long Combine(int sender, int receiver) => CombineRows[sender][receiver] * RowBytes;

    /// <summary>Over the ranks, the most rows one sends to the others or receives from them.</summary>
    private static long BusiestRank(long[][] rows)
    {
        long busiest = 0;
        for (int r = 0; r < rows.Length; r++)
        {
            long sent = 0, received = 0;
            for (int p = 0; p < rows.Length; p++)
            {
                sent += rows[r][p];
                received += rows[p][r];
            }
            busiest = Math.Max(busiest, Math.Max(sent, received));
        }
        return busiest;
    }

    public static PeerCopyBytes From(Traffic traffic, in EpConfig config)
    {
        ArgumentNullException.ThrowIfNull(traffic);
        int ranks = traffic.RecvRankCounts.Length;
        var bytes = new PeerCopyBytes(ranks, config.RowBytes) { DispatchRowBytes = config.DispatchRowBytes };
        bool perSlot = config.Layout == EpLayout.ExpertMajor && !config.CombinesPartials;
        for (int home = 0; home < ranks; home++)
        {
            for (int holder = 0; holder < ranks; holder++)
            {
                if (holder == home) continue;
                long dispatched = traffic.RecvRankCounts[holder][home];
                long returned = perSlot ? traffic.RecvSlotCounts[holder][home] : dispatched;
                bytes.DispatchRows[home][holder] = dispatched;
                bytes.CombineRows[holder][home] = returned;
                bytes.TotalDispatchRows += dispatched;
                bytes.TotalCombineRows += returned;
            }
        }
        return bytes;
    }

    /// <summary>The bytes the link bound divides, with their figures.</summary>
    public string BusiestRankFormula() =>
        $"link bound bytes = the busiest rank's remote bytes (over the ranks, the larger of what one sends to and receives from the others): " +
        $"dispatch {BusiestRankDispatchBytes / DispatchRowBytes} rows = {Units.Megabytes(BusiestRankDispatchBytes)}, " +
        $"combine {BusiestRankCombineBytes / RowBytes} rows = {Units.Megabytes(BusiestRankCombineBytes)}";

    /// <summary>The ceiling's dispatch bytes with their figure.</summary>
    public string DispatchFormula(in EpConfig c) =>
        $"ceiling dispatch bytes = Σ over (rank, other rank) of the rows the rank dispatches to it × {Traffic.DispatchRowText(c, general: true)} = " +
        $"{TotalDispatchRows} × {Traffic.DispatchRowText(c, general: false)} = {Units.Megabytes(DispatchBytes)} (the remote dispatch bytes)";

    /// <summary>The ceiling's combine bytes with their figure.</summary>
    public string CombineFormula(in EpConfig c)
    {
        return $"ceiling combine bytes = Σ over (rank, other rank) of the {BenchNames.CombineRows(c)} to it × hidden × {c.DataType.SizeInBytes()} B = " +
            $"{TotalCombineRows} × {c.Hidden} × {c.DataType.SizeInBytes()} B = {Units.Megabytes(CombineBytes)} (the remote combine bytes)";
    }
}
