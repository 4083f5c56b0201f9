using System;
namespace NcclEp;

/// <summary>Settings of a group that do not change its kernels.</summary>
public sealed record EpGroupOptions
{
    /// <summary>The default options.</summary>
    public static EpGroupOptions Default { get; } = new();

    /// <summary>
    /// How long any wait on a peer may last before the wait gives up and the call raises
    /// <see cref="EpTimeoutException"/>. Default 10 s.
    /// </summary>
    public TimeSpan PeerTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Folder for compiled kernels (Cuda backend). Default: <c>NCCLEP_CACHE_DIR</c> if set, else
    /// <c>~/.cache/ncclep/kernels</c>.
    /// </summary>
    public string? KernelCacheDirectory { get; init; }

    /// <summary>
    /// Whether group creation first compares <see cref="EpConfig.EstimateMemory"/> (window, handle and the caller's
    /// tensors for the layout) with the memory available (Host: this machine's available physical memory; Cuda: each
    /// GPU's free memory) and refuses with <see cref="EpMemoryException"/> a configuration that cannot fit. Default
    /// true; turn it off only when your own tensors are smaller than the estimate counts (e.g. experts that write in place).
    /// </summary>
    public bool CheckMemory { get; init; } = true;

    /// <summary>
    /// Hierarchical high-throughput dispatch across nodes (Cuda backend; docs/internode.md §7). A token bound for another
    /// node then crosses the network once, to the rank there with this rank's local index (its rail peer), which forwards
    /// it over NVLink to each rank of its node that the token goes to; without it the token is sent to each such rank
    /// separately. Combine is the same either way. It applies to <see cref="EpMode.HighThroughput"/> groups with network
    /// peers, whose nodes are equal runs of consecutive ranks (at most 32 each); in any other group it changes nothing.
    /// Creating a group whose nodes are not such runs raises <see cref="EpException"/>. Default false.
    /// </summary>
    public bool HierarchicalDispatch { get; init; }

    /// <summary>
    /// Topology emulation for the GPU tests and the bench (NCCLEP_FORCE_NETWORK in their code): every other rank is a
    /// network peer, reached through NCCL send/recv even when NCCL could reach it by address. Needs one GPU per rank.
    /// </summary>
    internal bool ForceNetwork { get; init; }

    /// <summary>
    /// Topology emulation for the GPU tests and the bench (NCCLEP_NODE_SIZE in their code): the ranks form "nodes" of this
    /// many consecutive ranks, and a peer in another node is a network peer even when NCCL's LSA team could reach it by
    /// address. Null: the nodes NCCL sees. Needs one GPU per rank.
    /// </summary>
    internal int? EmulatedNodeSize { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="parameter"/> when a setting is out of range.</summary>
    internal void Validate(string parameter)
    {
        if (PeerTimeout <= TimeSpan.Zero) ThrowHelper.Argument(parameter, "PeerTimeout must be positive.");
        if (EmulatedNodeSize < 1) ThrowHelper.Argument(parameter, $"EmulatedNodeSize is {EmulatedNodeSize}: it must be a whole number of ranks per emulated node, at least 1 (null for none).");
    }

    /// <summary>Whether the options ask for network peers that ranks co-located on one GPU could not have.</summary>
    internal string? EmulatedNetwork(int worldSize) =>
        ForceNetwork ? "ForceNetwork (every other rank a network peer)"
        : EmulatedNodeSize < worldSize ? $"EmulatedNodeSize={EmulatedNodeSize} (nodes of {EmulatedNodeSize} rank(s))"
        : null;
}
