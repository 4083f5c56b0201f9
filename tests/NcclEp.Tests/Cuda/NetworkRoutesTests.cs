using System;
using System.Numerics;
using NcclEp.Backend;
using NcclEp.Cuda;
using NcclEp.Interop;
using NcclEp.InternodeModel;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>Which peers a rank reaches by address and which through NCCL send/recv, and the staging slices' sizes.</summary>
public sealed class NetworkRoutesTests
{
    /// <summary>The rank's own window at its local address (ncclMemAlloc), distinct from every LSA alias the helper below makes.</summary>
    private const nint Own = 0x9000;

    private static NcclLsaWindow Lsa(int lsaRank, int lsaSize, int worldRank)
    {
        var pointers = new nint[lsaSize];
        for (int i = 0; i < lsaSize; i++) pointers[i] = 0x1000 * (i + 1);
        return new NcclLsaWindow(lsaRank, lsaSize, worldRank, pointers, "test window");
    }

    [Fact]
    public void Lsa_team_peers_get_addresses_and_the_others_are_network_peers()
    {
        // Rank 5 of 8 is LSA rank 1 of a team of 4: world ranks 4..7 by address, 0..3 through the network.
        PeerRoutes routes = PeerRoutes.FromLsa(Lsa(lsaRank: 1, lsaSize: 4, worldRank: 5), rank: 5, world: 8, ownWindow: Own);

        Assert.Equal(0b0000_1111UL, routes.NetworkMask);
        Assert.Equal(4, routes.NetworkPeers);
        for (int peer = 0; peer < 4; peer++) Assert.Equal(0, routes.Peers[peer]);
        for (int peer = 4; peer < 8; peer++) Assert.Equal(peer == 5 ? Own : 0x1000 * (peer - 4 + 1), routes.Peers[peer]);
        Assert.Contains("4 network peer(s)", routes.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rank_reaches_its_own_window_at_its_local_address_not_through_its_lsa_alias()
    {
        // The kernels read the rank's own window through the local address; writing it through the LSA alias (0x3000
        // here) would make two virtual addresses of one buffer meet in one kernel.
        PeerRoutes routes = PeerRoutes.FromLsa(Lsa(lsaRank: 2, lsaSize: 4, worldRank: 2), rank: 2, world: 4, ownWindow: Own);
        Assert.Equal(new nint[] { 0x1000, 0x2000, Own, 0x4000 }, routes.Peers);
    }

    [Fact]
    public void A_team_of_every_rank_has_no_network_peer()
    {
        PeerRoutes routes = PeerRoutes.FromLsa(Lsa(lsaRank: 2, lsaSize: 4, worldRank: 2), rank: 2, world: 4, ownWindow: Own);
        Assert.Equal(0UL, routes.NetworkMask);
        Assert.All(routes.Peers, p => Assert.NotEqual(0, p));
        Assert.Equal("test window", routes.Summary);
    }

    [Fact]
    public void Forced_network_keeps_only_the_rank_itself_by_address()
    {
        PeerRoutes routes = PeerRoutes.AllNetwork(rank: 2, world: 5, ownWindow: 0x7000);
        Assert.Equal(0b1_1011UL, routes.NetworkMask);
        Assert.Equal(new nint[] { 0, 0, 0x7000, 0, 0 }, routes.Peers);
        Assert.Contains("network forced", routes.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Emulated_nodes_keep_only_the_rank_s_own_run_by_address()
    {
        // Four GPUs in one LSA team, nodes of 2: rank 2 reaches 3 by address, 0 and 1 through the network.
        PeerRoutes routes = PeerRoutes.FromLsa(Lsa(lsaRank: 2, lsaSize: 4, worldRank: 2), rank: 2, world: 4, ownWindow: Own, nodeSize: 2);
        Assert.Equal(0b0011UL, routes.NetworkMask);
        Assert.Equal(new nint[] { 0, 0, Own, 0x4000 }, routes.Peers);
        Assert.Contains("2 network peer(s)", routes.Summary, StringComparison.Ordinal);
        Assert.Contains("emulated nodes of 2 rank(s)", routes.Summary, StringComparison.Ordinal);

        // Nodes of 1: every other rank is a network peer, the rank itself keeps its window.
        PeerRoutes alone = PeerRoutes.FromLsa(Lsa(lsaRank: 1, lsaSize: 2, worldRank: 1), rank: 1, world: 2, ownWindow: Own, nodeSize: 1);
        Assert.Equal(0b01UL, alone.NetworkMask);
        Assert.Equal(new nint[] { 0, Own }, alone.Peers);

        // A node as large as the LSA team changes nothing; an LSA team smaller than the node still bounds it.
        Assert.Equal(0UL, PeerRoutes.FromLsa(Lsa(1, 4, worldRank: 1), rank: 1, world: 4, ownWindow: Own, nodeSize: 4).NetworkMask);
        Assert.Equal(0b1111_0000UL, PeerRoutes.FromLsa(Lsa(1, 4, worldRank: 1), rank: 1, world: 8, ownWindow: Own, nodeSize: 8).NetworkMask);
    }

    [Fact]
    public void A_team_of_one_reaches_only_its_own_memory_and_every_other_rank_through_the_network()
    {
        // One GPU per node (or one process per emulated node on one GPU): NCCL's LSA team is the rank alone.
        NcclLsaWindow sole = NcclLsa.SoleMember(worldRank: 2, localPointer: 0x7000, version: 22803, "the rank alone on its node");
        PeerRoutes routes = PeerRoutes.FromLsa(sole, rank: 2, world: 4, ownWindow: 0x7000);

        Assert.Equal(0b1011UL, routes.NetworkMask);
        Assert.Equal(new nint[] { 0, 0, 0x7000, 0 }, routes.Peers);
        Assert.Equal("NCCL 2.28.3: the rank alone on its node, no window read; LSA team of 1, 3 network peer(s) through NCCL send/recv", routes.Summary);
    }

    [Fact]
    public void A_team_of_one_needs_the_rank_s_own_address()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => NcclLsa.SoleMember(worldRank: 0, localPointer: 0, version: 22803, "why"));
        Assert.Equal("localPointer", e.ParamName);
    }

    [Fact]
    public void Inspecting_needs_a_communicator_and_nothing_native_runs_without_one()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => NcclLsa.Inspect(comm: 0, window: 0, localPointer: 0x1000, context: 0));
        Assert.Equal("comm", e.ParamName);
    }

    [Theory]
    [InlineData(22803, true)]   // 2.28.3: symmetric memory only when the communicator is on one node
    [InlineData(22806, true)]
    [InlineData(22807, false)]  // 2.28.7 dropped that condition
    [InlineData(22809, false)]
    public void Without_symmetric_memory_the_reason_names_what_gives_it(int version, bool namesOneNode)
    {
        string reason = NcclLsa.NoSymmetricMemoryReason(version, nodeRanks: 8);
        Assert.Contains("the 7 other rank(s) on this node go through NCCL send/recv too", reason, StringComparison.Ordinal);
        Assert.Contains("NCCL_WIN_ENABLE=1", reason, StringComparison.Ordinal);
        Assert.Equal(namesOneNode, reason.Contains("only to a communicator on one node (2.28.7 and later across nodes too)", StringComparison.Ordinal));
    }

    [Fact]
    public void A_window_of_another_rank_is_refused()
    {
        EpException e = Assert.Throws<EpException>(() => PeerRoutes.FromLsa(Lsa(0, 2, worldRank: 1), rank: 0, world: 2, ownWindow: Own));
        Assert.Contains("world rank 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_ranks_than_the_kernels_address_are_refused()
    {
        NotSupportedException e = Assert.Throws<NotSupportedException>(() => PeerRoutes.AllNetwork(0, CudaKernelParams.MaxWorld + 1, 0x10));
        Assert.Contains("at most 64 ranks", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(8, 0, 4)]
    [InlineData(8, 4, 4)]
    [InlineData(16, 8, 8)]
    [InlineData(5, 0, 1)]
    public void Slice_index_is_the_count_of_lower_network_peers_as_in_the_kernels_and_the_model(int world, int lsaFirst, int lsaSize)
    {
        int rank = lsaFirst;
        PeerRoutes routes = PeerRoutes.FromLsa(Lsa(0, lsaSize, rank), rank, world, Own);
        for (int peer = 0; peer < world; peer++)
        {
            if ((routes.NetworkMask >> peer & 1) == 0) continue;
            // ep_common.cuh network_index: __popcll(networkMask & ((1 << r) - 1)).
            int kernelIndex = BitOperations.PopCount(routes.NetworkMask & ((1UL << peer) - 1));
            Assert.Equal(StagingLayout.SliceIndex(peer, lsaFirst, lsaSize), kernelIndex);
        }
    }

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, 256, 7168, 8, 128, 16)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, 64, 2048, 4, 128, 4)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, 256, 7168, 8, 4096, 32)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, 64, 512, 3, 17, 4)]
    public void Library_slices_are_the_documented_ones(EpMode mode, EpLayout layout, int experts, int hidden, int topK, int maxTokens, int world)
    {
        var config = new EpConfig(mode, experts, hidden, topK, maxTokens, layout);
        var window = new WindowLayout(config, world);
        var slices = new NetworkSlices(config, window, peers: world - 1);
        var model = new StagingLayout(world - 1, window.LocalExperts, topK, maxTokens, window.RowBytes,
            layout == EpLayout.ExpertMajor ? topK : 1);

        Assert.Equal(model.DispatchHeaderBytes, slices.HeaderBytes);
        Assert.Equal(model.RowsPerToken, slices.CombineSlots);
        Assert.Equal(WindowLayout.RoundUp(model.DispatchSliceBytes, 128), slices.DispatchSlice);
        // The combine header reuses the dispatch header size: the model's 128 B while L <= 30.
        long combineRows = (long)maxTokens * model.RowsPerToken * window.RowBytes;
        Assert.Equal(WindowLayout.RoundUp(slices.HeaderBytes + combineRows, 128), slices.CombineSlice);
        if (window.LocalExperts <= 30) Assert.Equal(WindowLayout.RoundUp(model.CombineSliceBytes, 128), slices.CombineSlice);
        Assert.Equal((world - 1) * slices.DispatchSlice, slices.CombineBase);
        Assert.Equal(slices.CombineBase + ((world - 1) * slices.CombineSlice), slices.BytesPerHalf);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(1, 1)]
    [InlineData(128, 1)]   // every low-latency step: one tile, one launch
    [InlineData(129, 2)]
    [InlineData(4096, 32)]
    public void Update_launches_a_block_per_tile_and_at_least_one(int tokens, int tiles) =>
        Assert.Equal(tiles, HandleLayout.UpdateTiles(tokens));
}
