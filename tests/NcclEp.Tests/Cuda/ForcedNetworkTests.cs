using System;
using NcclEp.Cuda;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// <c>NCCLEP_FORCE_NETWORK=1</c> or an <c>NCCLEP_NODE_SIZE</c> smaller than the group, with ranks co-located on one GPU,
/// is refused before any CUDA call, naming the argument and the variable.
/// </summary>
public sealed class ForcedNetworkTests
{
    [Fact]
    public void Forcing_network_peers_on_co_located_ranks_is_refused_with_the_reason()
    {
        ArgumentException e = RefusedWith(PeerRoutes.ForceNetworkVariable, "1");
        Assert.Equal("deviceIds", e.ParamName);
        Assert.Contains("needs one GPU per rank", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Emulated_nodes_on_co_located_ranks_are_refused_with_the_reason()
    {
        ArgumentException e = RefusedWith(PeerRoutes.NodeSizeVariable, "1");
        Assert.Equal("deviceIds", e.ParamName);
        Assert.Contains(PeerRoutes.NodeSizeVariable + "=1", e.Message, StringComparison.Ordinal);
        Assert.Contains("needs one GPU per rank", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Two ranks on GPU 0 with <paramref name="variable"/> set (restored after): the exception CreateCuda throws.</summary>
    private static ArgumentException RefusedWith(string variable, string value)
    {
        var config = new EpConfig(EpMode.LowLatency, NumExperts: 8, Hidden: 512, TopK: 2, MaxTokensPerRank: 4, EpLayout.ExpertMajor);
        string? before = Environment.GetEnvironmentVariable(variable);
        Environment.SetEnvironmentVariable(variable, value);
        try
        {
            return Assert.Throws<ArgumentException>(() => EpGroup.CreateCuda(config, [0, 0]));
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, before);
        }
    }
}
