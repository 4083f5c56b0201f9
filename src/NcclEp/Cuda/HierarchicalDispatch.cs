using System;
using System.Numerics;

namespace NcclEp.Cuda;

/// <summary>
/// Hierarchical HT dispatch (docs/internode.md §7), switched on with <see cref="EpGroupOptions.HierarchicalDispatch"/>: a token bound for
/// another node crosses the network once, to the rank there with this rank's local index (its rail peer), which
/// forwards it over NVLink to each of its node's ranks that the token goes to (ep_forward.cu). Combine stays flat.
/// The nodes are this rank's run of LSA peers: equal runs of consecutive ranks.
/// </summary>
internal static class HierarchicalDispatch
{
    /// <summary>Ranks per node for hierarchical dispatch, or 0 where it does not apply (not asked for, not HT, no network peers).</summary>
    public static int NodeSize(in EpConfig config, int rank, int world, ulong networkMask, bool requested)
    {
        if (!requested || config.Mode != EpMode.HighThroughput || networkMask == 0) return 0;
        int size = world - BitOperations.PopCount(networkMask);
        int first = rank / size * size;
        bool nodes = world % size == 0 && size <= 32;
        for (int r = 0; r < world && nodes; r++) nodes = ((networkMask >> r & 1) == 0) == (r >= first && r < first + size);
        if (!nodes)
            throw new EpException($"EpGroupOptions.HierarchicalDispatch: rank {rank}'s NVLink peers are {size} rank(s) that do not form one of {world}/{size} equal nodes of consecutive ranks (at most 32 each); hierarchical dispatch needs such nodes. Turn it off for this group.");
        return size;
    }

    /// <summary>The rail peers of <paramref name="rank"/>: on every other node, the rank with its local index.</summary>
    public static ulong RailMask(int rank, int world, int nodeSize)
    {
        ulong mask = 0;
        for (int node = 0; node < world / nodeSize; node++)
        {
            int peer = (node * nodeSize) + (rank % nodeSize);
            if (peer / nodeSize != rank / nodeSize) mask |= 1UL << peer;
        }
        return mask;
    }

    /// <summary>What a rank's route description adds when hierarchical dispatch is on (nothing when it is off).</summary>
    public static string Describe(int nodeSize, ulong railMask) => nodeSize == 0
        ? string.Empty
        : $"; hierarchical HT dispatch: nodes of {nodeSize} rank(s), {BitOperations.PopCount(railMask)} rail peer(s)";

    /// <summary>
    /// Bytes of one rail slice: u64 seq and tokens, i32 rankCounts[G], i32 expertCounts[G][L] (128-aligned); i32
    /// slots[M][G] (128-aligned); one message per token. The kernels compute the same offsets (ep_common.cuh).
    /// </summary>
    public static long RailSliceBytes(in Backend.WindowLayout layout, int nodeSize) =>
        RailMessagesOffset(layout, nodeSize) + ((long)layout.MaxTokens * layout.MessageBytes);

    public static long RailHeaderBytes(in Backend.WindowLayout layout, int nodeSize) =>
        Backend.WindowLayout.RoundUp(8 + (4L * nodeSize * (1 + layout.LocalExperts)), 128);

    public static long RailMessagesOffset(in Backend.WindowLayout layout, int nodeSize) =>
        RailHeaderBytes(layout, nodeSize) + Backend.WindowLayout.RoundUp(4L * layout.MaxTokens * nodeSize, 128);
}
