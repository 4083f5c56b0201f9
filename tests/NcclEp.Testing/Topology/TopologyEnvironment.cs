using System;
using System.Globalization;

namespace NcclEp.Testing;

/// <summary>
/// The topology the GPU scripts ask for through the environment (scripts/gpu-network*.sh), as group options. The
/// library reads none of these variables: the GPU test program and the bench read them here and pass the options on.
/// <list type="bullet">
/// <item><c>NCCLEP_FORCE_NETWORK=1</c>: every other rank a network peer (the internal <c>EpGroupOptions.ForceNetwork</c>).</item>
/// <item><c>NCCLEP_NODE_SIZE=n</c>: emulated nodes of n consecutive ranks (the internal <c>EpGroupOptions.EmulatedNodeSize</c>).</item>
/// <item><c>NCCLEP_HIERARCHICAL=1</c>: <see cref="EpGroupOptions.HierarchicalDispatch"/> (the bench also takes <c>--hierarchical</c>).</item>
/// </list>
/// </summary>
public static class TopologyEnvironment
{
    public const string ForceNetworkVariable = "NCCLEP_FORCE_NETWORK";
    public const string NodeSizeVariable = "NCCLEP_NODE_SIZE";
    public const string HierarchicalVariable = "NCCLEP_HIERARCHICAL";

    /// <summary>Whether NCCLEP_FORCE_NETWORK asks for every other rank to be a network peer.</summary>
    public static bool NetworkForced => IsOn(Environment.GetEnvironmentVariable(ForceNetworkVariable));

    /// <summary>NCCLEP_NODE_SIZE, or null when unset.</summary>
    public static int? EmulatedNodeSize => ParseNodeSize(Environment.GetEnvironmentVariable(NodeSizeVariable));

    /// <summary><paramref name="options"/> with what the environment asks for (settings already on stay on).</summary>
    public static EpGroupOptions Apply(EpGroupOptions options) => Apply(options, Environment.GetEnvironmentVariable);

    /// <summary><paramref name="options"/> with what <paramref name="variable"/> (a variable's value, or null) asks for.</summary>
    public static EpGroupOptions Apply(EpGroupOptions options, Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options with
        {
            ForceNetwork = options.ForceNetwork || IsOn(variable(ForceNetworkVariable)),
            EmulatedNodeSize = ParseNodeSize(variable(NodeSizeVariable)) ?? options.EmulatedNodeSize,
            HierarchicalDispatch = options.HierarchicalDispatch || IsOn(variable(HierarchicalVariable)),
        };
    }

    /// <summary>The node size NCCLEP_NODE_SIZE names: null when unset, a clear error when it is not a whole number ≥ 1.</summary>
    public static int? ParseNodeSize(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int size) || size < 1)
            throw new ArgumentException($"{NodeSizeVariable} is '{text}': it must be a whole number of ranks per emulated node, at least 1.", nameof(text));
        return size;
    }

    private static bool IsOn(string? value) => value is "1" or "true";
}
