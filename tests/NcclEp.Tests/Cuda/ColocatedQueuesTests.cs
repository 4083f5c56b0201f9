using System;
using NcclEp.Cuda;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// Co-located ranks need a hardware work queue each plus one for NcclEp's copies: a group with more is refused before
/// any CUDA call, naming the argument, the variable and the value to set.
/// </summary>
public sealed class ColocatedQueuesTests
{
    [Theory]
    [InlineData(null, 8)]
    [InlineData("", 8)]
    [InlineData("4", 4)]
    [InlineData("32", 32)]
    [InlineData("64", 32)]  // the driver's limit
    [InlineData("0", 8)]
    [InlineData("eight", 8)]
    public void The_queue_count_follows_the_driver_s_reading_of_the_variable(string? setting, int queues) =>
        Assert.Equal(queues, ColocatedFabric.HardwareQueues(setting));

    [Theory]
    [InlineData(7, null)]
    [InlineData(3, "4")]
    [InlineData(31, "32")]
    public void Enough_queues_pass(int world, string? setting) =>
        ColocatedFabric.ThrowIfTooFewHardwareQueues(world, setting);

    [Fact]
    public void Eight_ranks_with_the_default_queues_are_refused_with_the_value_to_set()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => ColocatedFabric.ThrowIfTooFewHardwareQueues(8, null));
        Assert.Equal("deviceIds", e.ParamName);
        Assert.Contains("CUDA_DEVICE_MAX_CONNECTIONS is unset, so the driver's default of 8", e.Message, StringComparison.Ordinal);
        Assert.Contains("Set CUDA_DEVICE_MAX_CONNECTIONS=9", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_ranks_than_the_driver_can_queue_are_refused_with_the_limit() =>
        Assert.Contains("At most 31 ranks", Assert.Throws<ArgumentException>(() => ColocatedFabric.ThrowIfTooFewHardwareQueues(32, "32")).Message, StringComparison.Ordinal);

    [Fact]
    public void CreateCuda_refuses_too_many_co_located_ranks_before_any_CUDA_call()
    {
        // Nine ranks on GPU 0 with the variable unset (as in CI): refused whether or not this machine has a GPU.
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(ColocatedFabric.ConnectionsVariable))) return;
        var config = new EpConfig(EpMode.LowLatency, NumExperts: 18, Hidden: 512, TopK: 2, MaxTokensPerRank: 4, EpLayout.ExpertMajor);
        ArgumentException e = Assert.Throws<ArgumentException>(() => EpGroup.CreateCuda(config, new int[9]));
        Assert.Equal("deviceIds", e.ParamName);
        Assert.Contains("9 ranks co-located on one GPU", e.Message, StringComparison.Ordinal);
    }
}
