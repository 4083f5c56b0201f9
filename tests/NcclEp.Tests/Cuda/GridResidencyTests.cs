using System;
using NcclEp.Cuda;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>The creation-time check that a dispatch or combine grid can be resident all at once (its blocks wait on each other).</summary>
public sealed class GridResidencyTests
{
    [Theory]
    [InlineData(1, 132, 1, 132)]   // one rank, a block on every SM
    [InlineData(1, 66, 2, 132)]    // two co-located ranks share the SMs
    [InlineData(2, 132, 2, 132)]   // two blocks fit per SM: two full grids
    [InlineData(1, 20, 1, 132)]    // NumSms = 20
    public void A_grid_that_fits_the_sms_passes(int blocksPerSm, int grid, int ranksPerDevice, int sms) =>
        Assert.Null(GridResidency.Problem("dispatch", blocksPerSm, grid, ranksPerDevice, sms, 512, 0, 0));

    [Fact]
    public void Co_located_grids_that_need_more_block_slots_than_the_sms_have_are_refused_with_the_numbers()
    {
        string? problem = GridResidency.Problem("combine", blocksPerSm: 1, grid: 100, ranksPerDevice: 2, multiprocessors: 132, threads: 512, sharedBytes: 0, numSms: 100);
        Assert.NotNull(problem);
        foreach (string fact in new[] { "combine", "2 co-located ranks × 100 blocks", "200 block slots", "1 block(s) fit per SM × 132 SMs = 132", "EpConfig.NumSms = 100" })
            Assert.Contains(fact, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_kernel_that_fits_no_sm_at_all_is_refused()
    {
        string? problem = GridResidency.Problem("dispatch", blocksPerSm: 0, grid: 8, ranksPerDevice: 1, multiprocessors: 132, threads: 512, sharedBytes: 300_000, numSms: 0);
        Assert.NotNull(problem);
        Assert.Contains("not one block of it fits on an SM", problem, StringComparison.Ordinal);
        Assert.Contains("300000 B of dynamic shared memory", problem, StringComparison.Ordinal);
        Assert.Contains("EpConfig.NumSms = 0 (every SM)", problem, StringComparison.Ordinal);
    }
}
