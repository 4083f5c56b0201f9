using System;
using NcclEp;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>
/// The counts the last dispatch left in the handle (read from device memory), and the runs of rows in use
/// they imply: per local expert for expert-major, per source rank for rank-major and flat.
/// </summary>
internal sealed class ReceivedRuns
{
    private readonly RankState _state;

    public ReceivedRuns(RankState state)
    {
        _state = state;
        int w = state.Group.WorldSize, l = state.Group.LocalExperts;
        RankCounts = new int[w];
        ExpertCounts = new int[l];
        ExpertOffsets = new int[l + 1];
        PerExpert = state.Config.Layout == EpLayout.ExpertMajor;
        Capacity = state.Config.ReceiveRows(w);
    }

    public int[] RankCounts { get; }
    public int[] ExpertCounts { get; }
    public int[] ExpertOffsets { get; }
    public int Total { get; private set; }
    public bool PerExpert { get; }

    /// <summary>Rows of the dispatch output.</summary>
    public long Capacity { get; }

    public int RunCount => PerExpert ? ExpertCounts.Length : RankCounts.Length;

    /// <summary>Downloads every count the handle documents (synchronous).</summary>
    public void Read()
    {
        EpHandle h = _state.Handle;
        _state.Read(h.ReceivedRankCounts.Data, RankCounts);
        _state.Read(h.ReceivedExpertCounts.Data, ExpertCounts);
        _state.Read(h.ReceivedExpertOffsets.Data, ExpertOffsets);
        Span<int> total = stackalloc int[1];
        _state.Read(h.ReceivedTotal.Data, total);
        Total = total[0];
    }

    /// <summary>Run <paramref name="i"/>, from the counts last read.</summary>
    public RowRun Run(int i) => LayoutRows.InUse(_state.Config, RankCounts.Length, RankCounts, ExpertCounts, ExpertOffsets)[i];

    /// <summary>Throws if run <paramref name="i"/> leaves the dispatch output (guards reads of bad device counts).</summary>
    public RowRun CheckedRun(int i)
    {
        RowRun run = Run(i);
        long limit = _state.Config.Layout == EpLayout.RankMajor ? (run.Owner + 1L) * _state.Config.MaxTokensPerRank
            : PerExpert && _state.Config.Mode == EpMode.LowLatency ? (run.Owner + 1L) * (Capacity / ExpertCounts.Length)
            : Capacity;
        if (run.Count < 0 || run.Start < 0 || run.Start + run.Count > limit)
        {
            string owner = PerExpert ? "local expert" : "source rank";
            throw new InvalidOperationException(
                $"Rank {_state.Rank}: the handle's counts put {owner} {run.Owner} at rows [{run.Start}, {run.Start + run.Count}), outside the dispatch output's {limit} rows.");
        }
        return run;
    }
}
