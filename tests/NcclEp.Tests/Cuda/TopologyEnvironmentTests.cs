using System;
using System.Collections.Generic;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// The GPU scripts ask for network peers, emulated nodes and hierarchical dispatch through NCCLEP_FORCE_NETWORK,
/// NCCLEP_NODE_SIZE and NCCLEP_HIERARCHICAL; the GPU test program and the bench turn them into group options (the
/// library itself reads none of them).
/// </summary>
public sealed class TopologyEnvironmentTests
{
    [Fact]
    public void No_variable_leaves_the_options_as_they_are()
    {
        var options = new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(3) };
        Assert.Equal(options, TopologyEnvironment.Apply(options, Variables()));
        Assert.False(EpGroupOptions.Default.HierarchicalDispatch);
    }

    [Fact]
    public void Each_variable_sets_its_option_and_keeps_the_others()
    {
        var options = new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(3) };
        EpGroupOptions all = TopologyEnvironment.Apply(options, Variables(
            (TopologyEnvironment.ForceNetworkVariable, "1"), (TopologyEnvironment.NodeSizeVariable, "2"), (TopologyEnvironment.HierarchicalVariable, "true")));
        Assert.True(all.ForceNetwork);
        Assert.Equal(2, all.EmulatedNodeSize);
        Assert.True(all.HierarchicalDispatch);
        Assert.Equal(TimeSpan.FromSeconds(3), all.PeerTimeout);

        EpGroupOptions off = TopologyEnvironment.Apply(options, Variables((TopologyEnvironment.ForceNetworkVariable, "0"), (TopologyEnvironment.HierarchicalVariable, "no")));
        Assert.False(off.ForceNetwork);
        Assert.False(off.HierarchicalDispatch);
    }

    [Fact]
    public void A_setting_made_in_code_stays_on_when_its_variable_is_unset()
    {
        var options = new EpGroupOptions { HierarchicalDispatch = true, EmulatedNodeSize = 4 };
        EpGroupOptions applied = TopologyEnvironment.Apply(options, Variables());
        Assert.True(applied.HierarchicalDispatch);
        Assert.Equal(4, applied.EmulatedNodeSize);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("2", 2)]
    [InlineData("16", 16)]
    public void Node_size_parses_whole_numbers(string? text, int? expected) => Assert.Equal(expected, TopologyEnvironment.ParseNodeSize(text));

    [Theory]
    [InlineData("0")]
    [InlineData("-2")]
    [InlineData("two")]
    [InlineData("2.5")]
    public void A_bad_node_size_is_named(string text)
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => TopologyEnvironment.ParseNodeSize(text));
        Assert.Contains(TopologyEnvironment.NodeSizeVariable, e.Message, StringComparison.Ordinal);
        Assert.Contains($"'{text}'", e.Message, StringComparison.Ordinal);
    }

    private static Func<string, string?> Variables(params (string Name, string Value)[] set)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string name, string value) in set) values[name] = value;
        return name => values.TryGetValue(name, out string? value) ? value : null;
    }
}
