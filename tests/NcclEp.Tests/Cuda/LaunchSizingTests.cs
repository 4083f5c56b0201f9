using NcclEp.Cuda;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>Low-latency grids sized to the call's work (issue 19), within the configured grid.</summary>
public sealed class LaunchSizingTests
{
    private const uint FullGrid = 132;              // an H200's SMs
    private const int RowBytes = 7168 * 2;          // hidden 7168, bf16: 7 segments of 2 KiB

    [Fact]
    public void One_token_on_two_ranks_launches_a_block_per_job_and_half()
    {
        // Dispatch: the token goes to at most 2 ranks and 2 sources send one message each: 2 jobs, 4 blocks.
        Assert.Equal(4u, LaunchSizing.DispatchGrid(tokens: 1, topK: 8, world: 2, FullGrid));
        // Combine: 7 reducing warps (one per 2 KiB segment of the row) outnumber the 2 sending jobs.
        Assert.Equal(7, LaunchSizing.Segments(RowBytes));
        Assert.Equal(14u, LaunchSizing.CombineGrid(tokens: 1, world: 2, RowBytes, FullGrid));
    }

    [Theory]
    [InlineData(128, 2)]
    [InlineData(33, 2)]
    [InlineData(17, 4)]
    [InlineData(9, 8)]
    public void Enough_tokens_take_the_whole_configured_grid(int tokens, int world)
    {
        Assert.Equal(FullGrid, LaunchSizing.DispatchGrid(tokens, topK: 8, world, FullGrid));
        Assert.Equal(FullGrid, LaunchSizing.CombineGrid(tokens, world, RowBytes, FullGrid));
    }

    [Fact]
    public void The_configured_grid_bounds_every_launch_and_two_blocks_is_the_least()
    {
        Assert.Equal(24u, LaunchSizing.DispatchGrid(tokens: 128, topK: 8, world: 2, full: 24));
        Assert.Equal(2u, LaunchSizing.DispatchGrid(tokens: 1, topK: 1, world: 1, FullGrid));
        Assert.Equal(1u, LaunchSizing.CombineGrid(tokens: 1, world: 2, RowBytes, full: 1));
    }

    [Fact]
    public void A_rank_without_tokens_takes_the_whole_grid_for_its_peers_rows()
    {
        // Its own count says nothing about what it receives and sends back (an uneven decode batch).
        Assert.Equal(FullGrid, LaunchSizing.DispatchGrid(tokens: 0, topK: 8, world: 2, FullGrid));
        Assert.Equal(FullGrid, LaunchSizing.CombineGrid(tokens: 0, world: 2, RowBytes, FullGrid));
    }

    [Fact]
    public void Top_k_below_the_world_bounds_the_dispatch_sends_but_not_the_receives()
    {
        // Top-1 on 8 ranks: a token goes to one rank, but each of the 8 sources may send this rank a message.
        Assert.Equal(16u, LaunchSizing.DispatchGrid(tokens: 1, topK: 1, world: 8, FullGrid));
    }
}
