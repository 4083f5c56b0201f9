using System;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// Forced network peers or emulated nodes smaller than the group (the internal options the GPU tests and the bench set
/// from NCCLEP_FORCE_NETWORK and NCCLEP_NODE_SIZE), with ranks co-located on one GPU, are refused before any CUDA call,
/// naming the argument and the setting.
/// </summary>
public sealed class ForcedNetworkTests
{
    private static readonly EpConfig Config = new(EpMode.LowLatency, NumExperts: 8, Hidden: 512, TopK: 2, MaxTokensPerRank: 4, EpLayout.ExpertMajor);

    [Fact]
    public void Forcing_network_peers_on_co_located_ranks_is_refused_with_the_reason()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => EpGroup.CreateCuda(Config, [0, 0], new EpGroupOptions { ForceNetwork = true }));
        Assert.Equal("deviceIds", e.ParamName);
        Assert.Contains("ForceNetwork", e.Message, StringComparison.Ordinal);
        Assert.Contains("needs one GPU per rank", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Emulated_nodes_on_co_located_ranks_are_refused_with_the_reason()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => EpGroup.CreateCuda(Config, [0, 0], new EpGroupOptions { EmulatedNodeSize = 1 }));
        Assert.Equal("deviceIds", e.ParamName);
        Assert.Contains("EmulatedNodeSize=1", e.Message, StringComparison.Ordinal);
        Assert.Contains("needs one GPU per rank", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void A_node_size_below_one_is_refused_naming_the_options(int size)
    {
        var options = new EpGroupOptions { EmulatedNodeSize = size };
        ArgumentException e = Assert.Throws<ArgumentException>(() => EpGroup.CreateCuda(Config, [0, 1], options));
        Assert.Equal("options", e.ParamName);
        Assert.Contains($"EmulatedNodeSize is {size}", e.Message, StringComparison.Ordinal);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => EpGroup.CreateHost(Config, 2, options)).ParamName);
    }
}
