using System;
using NcclEp.Bench;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// The peer-copy ceiling's bytes: per (sender, receiver) the remote rows each phase really moves, from a routing
/// worked out by hand, and the copy buffers' slots sized to hold them.
/// </summary>
public sealed class BenchCeilingBytesTests
{
    // 2 ranks, 4 experts (0, 1 on rank 0; 2, 3 on rank 1), top-2, 3 tokens per rank, hidden 512 bf16: 1024 B rows.
    private static readonly int[][] Routing =
    [
        [0, 2, /* t1 */ 2, 3, /* t2 */ 1, -1], // rank 0: t0 → both ranks, t1 → rank 1 twice, t2 stays home
        [0, 1, /* t1 */ 3, 2, /* t2 */ -1, -1], // rank 1: t0 → rank 0 twice, t1 stays home, t2 goes nowhere
    ];

    private static EpConfig Config(EpLayout layout) =>
        new(EpMode.LowLatency, 4, 512, 2, 3, layout, EpDataType.BFloat16);

    private static (PeerCopyBytes Bytes, Traffic Traffic) Account(EpLayout layout)
    {
        EpConfig config = Config(layout);
        Traffic traffic = Traffic.Compute(Workload.FromRouting(config, 2, Routing));
        return (PeerCopyBytes.From(traffic, config), traffic);
    }

    [Fact]
    public void Dispatch_bytes_per_peer_count_each_token_once_per_other_rank_it_reaches()
    {
        (PeerCopyBytes bytes, _) = Account(EpLayout.ExpertMajor);
        Assert.Equal(new long[] { 0, 2 }, bytes.DispatchRows[0]); // rank 0's t0 and t1 reach rank 1
        Assert.Equal(new long[] { 1, 0 }, bytes.DispatchRows[1]); // rank 1's t0 reaches rank 0
        Assert.Equal(2 * 1024, bytes.Dispatch(0, 1));
        Assert.Equal(1 * 1024, bytes.Dispatch(1, 0));
        Assert.Equal(3 * 1024, bytes.DispatchBytes);
    }

    [Fact]
    public void Expert_major_combine_sends_one_row_home_per_remote_top_k_slot()
    {
        (PeerCopyBytes bytes, _) = Account(EpLayout.ExpertMajor);
        // Rank 1 holds rank 0's t0 slot 1 and both slots of t1: 3 rows home; rank 0 holds both slots of rank 1's t0.
        Assert.Equal(new long[] { 3, 0 }, bytes.CombineRows[1]);
        Assert.Equal(new long[] { 0, 2 }, bytes.CombineRows[0]);
        Assert.Equal(3 * 1024, bytes.Combine(1, 0));
        Assert.Equal(5 * 1024, bytes.CombineBytes);
    }

    [Fact]
    public void Rank_major_combine_is_the_dispatch_reversed()
    {
        (PeerCopyBytes bytes, _) = Account(EpLayout.RankMajor);
        Assert.Equal(bytes.Dispatch(0, 1), bytes.Combine(1, 0));
        Assert.Equal(bytes.Dispatch(1, 0), bytes.Combine(0, 1));
        Assert.Equal(3 * 1024, bytes.CombineBytes);
    }

    [Theory]
    [InlineData(EpLayout.ExpertMajor)]
    [InlineData(EpLayout.RankMajor)]
    public void Totals_are_the_remote_bytes_the_phase_tables_print(EpLayout layout)
    {
        (PeerCopyBytes bytes, Traffic traffic) = Account(layout);
        Assert.Equal(traffic.RemoteDispatchBytes, bytes.DispatchBytes);
        Assert.Equal(traffic.RemoteCombineBytes, bytes.CombineBytes);
        Assert.Contains("= 3 × 512 × 2 B = 0.00 MB (the remote dispatch bytes)", bytes.DispatchFormula(Config(layout)), StringComparison.Ordinal);
    }

    [Fact]
    public void Random_routing_of_four_ranks_leaves_the_diagonal_empty_and_sums_to_the_remote_bytes()
    {
        var config = new EpConfig(EpMode.HighThroughput, 32, 1024, 8, 257, EpLayout.ExpertMajor, EpDataType.BFloat16);
        Traffic traffic = Traffic.Compute(Workload.Generate(config, 4, seed: 7));
        PeerCopyBytes bytes = PeerCopyBytes.From(traffic, config);
        long dispatch = 0, combine = 0;
        for (int s = 0; s < 4; s++)
        {
            Assert.Equal(0, bytes.DispatchRows[s][s]);
            Assert.Equal(0, bytes.CombineRows[s][s]);
            for (int p = 0; p < 4; p++)
            {
                dispatch += bytes.Dispatch(s, p);
                combine += bytes.Combine(s, p);
                if (s != p) Assert.True(bytes.DispatchRows[s][p] > 0, $"rank {s} sends rank {p} nothing");
            }
        }
        Assert.Equal(traffic.RemoteDispatchBytes, dispatch);
        Assert.Equal(traffic.RemoteCombineBytes, combine);
        Assert.True(traffic.RemoteDispatchBytes < traffic.DispatchBytes, "some rows stay local and are not in the ceiling");
    }

    [Fact]
    public void Copy_buffers_give_each_peer_a_slot_that_holds_either_phase()
    {
        (PeerCopyBytes bytes, _) = Account(EpLayout.ExpertMajor);
        // Rank 0 sends rank 1 2 rows (dispatch) or 2 rows (combine); rank 1 sends rank 0 1 row or 3 rows.
        Assert.Equal(new long[] { 0, 0, 2048 }, PeerCopyCeiling.SendOffsets(bytes, 0));
        Assert.Equal(new long[] { 0, 3072, 3072 }, PeerCopyCeiling.SendOffsets(bytes, 1));
        Assert.Equal(new long[] { 0, 0, 3072 }, PeerCopyCeiling.ReceiveOffsets(bytes, 0));
        Assert.Equal(new long[] { 0, 2048, 2048 }, PeerCopyCeiling.ReceiveOffsets(bytes, 1));
    }
}
