using System;
using NcclEp.Backend;
using NcclEp.Cuda;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// Hierarchical HT dispatch on the host side: when it applies, the node size it reads from the network mask, the rail
/// peers, and the rail slice's size (the kernels compute the same offsets, ep_common.cuh).
/// </summary>
public sealed class HierarchicalDispatchTests
{
    private static readonly EpConfig Ht = new(EpMode.HighThroughput, NumExperts: 64, Hidden: 2048, TopK: 4, MaxTokensPerRank: 512, EpLayout.Flat);

    [Fact]
    public void It_applies_only_when_asked_for_in_HT_with_network_peers()
    {
        var ll = new EpConfig(EpMode.LowLatency, NumExperts: 64, Hidden: 2048, TopK: 4, MaxTokensPerRank: 128, EpLayout.ExpertMajor);
        Assert.Equal(0, HierarchicalDispatch.NodeSize(Ht, rank: 0, world: 4, networkMask: 0b1100, requested: false));
        Assert.Equal(0, HierarchicalDispatch.NodeSize(ll, rank: 0, world: 4, networkMask: 0b1100, requested: true));
        Assert.Equal(0, HierarchicalDispatch.NodeSize(Ht, rank: 0, world: 4, networkMask: 0, requested: true));
    }

    [Theory]
    [InlineData(0, 2, 0b10UL, 1)]        // forced network or nodes of one rank: every peer is a node
    [InlineData(1, 4, 0b1100UL, 2)]      // emulated nodes of 2 on 4 GPUs, rank 1
    [InlineData(2, 4, 0b0011UL, 2)]      // rank 2 sees ranks 0 and 1 through the network
    [InlineData(5, 16, 0xFF00UL, 8)]     // two nodes of 8, rank 5
    public void The_node_size_is_the_run_of_LSA_peers(int rank, int world, ulong networkMask, int nodeSize) =>
        Assert.Equal(nodeSize, HierarchicalDispatch.NodeSize(Ht, rank, world, networkMask, requested: true));

    [Fact]
    public void Peers_that_are_not_equal_nodes_of_consecutive_ranks_are_refused_naming_the_option()
    {
        // Rank 0 of 4 with LSA peers {0, 2}: not a run of consecutive ranks.
        EpException e = Assert.Throws<EpException>(() => HierarchicalDispatch.NodeSize(Ht, rank: 0, world: 4, networkMask: 0b1010, requested: true));
        Assert.Contains(nameof(EpGroupOptions) + "." + nameof(EpGroupOptions.HierarchicalDispatch), e.Message, StringComparison.Ordinal);
        // Three ranks per node in a world of 4: unequal nodes.
        Assert.Throws<EpException>(() => HierarchicalDispatch.NodeSize(Ht, rank: 0, world: 4, networkMask: 0b1000, requested: true));
    }

    [Theory]
    [InlineData(0, 2, 1, 0b10UL)]
    [InlineData(1, 4, 2, 0b1000UL)]           // rank 1 (node 0, index 1): rank 3
    [InlineData(2, 4, 2, 0b0001UL)]           // rank 2 (node 1, index 0): rank 0
    [InlineData(5, 32, 8, 0x20202000UL)]      // rank 5 of 4 nodes of 8: ranks 13, 21, 29
    public void Rail_peers_have_the_rank_s_local_index_on_every_other_node(int rank, int world, int nodeSize, ulong mask) =>
        Assert.Equal(mask, HierarchicalDispatch.RailMask(rank, world, nodeSize));

    [Fact]
    public void The_rail_slice_holds_counts_slots_and_a_message_per_token()
    {
        var window = new WindowLayout(Ht, 4);  // 16 local experts, 512 tokens
        // Header: 8 + 4 * 2 * (1 + 16) = 144 bytes, rounded to 256; slots: 4 * 512 * 2 = 4096 bytes.
        Assert.Equal(256, HierarchicalDispatch.RailHeaderBytes(window, 2));
        Assert.Equal(256 + 4096, HierarchicalDispatch.RailMessagesOffset(window, 2));
        Assert.Equal(256 + 4096 + (512L * window.MessageBytes), HierarchicalDispatch.RailSliceBytes(window, 2));

        var flat = new NetworkSlices(Ht, window, peers: 2);
        var rail = new NetworkSlices(Ht, window, peers: 2, nodeSize: 2);
        Assert.Equal(WindowLayout.RoundUp(HierarchicalDispatch.RailSliceBytes(window, 2), 128), rail.DispatchSlice);
        Assert.True(rail.DispatchSlice > flat.DispatchSlice);
        Assert.Equal(flat.CombineSlice, rail.CombineSlice);  // combine stays flat
    }

    [Fact]
    public void The_route_description_says_when_dispatch_is_hierarchical()
    {
        Assert.Equal(string.Empty, HierarchicalDispatch.Describe(nodeSize: 0, railMask: 0));
        Assert.Equal("; hierarchical HT dispatch: nodes of 8 rank(s), 3 rail peer(s)",
            HierarchicalDispatch.Describe(nodeSize: 8, railMask: 0x20202000UL));
    }
}
