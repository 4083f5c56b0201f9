using System;
namespace NcclEp.InternodeModel;

/// <summary>Expected bytes of one token on each leg (by symmetry, also what one rank sends per token it owns).</summary>
/// <param name="Nvlink">Stores to LSA peers of the sender's own team (the sender itself excluded).</param>
/// <param name="Forward">Hierarchical only: stores by the rail peer that received the token, to the destinations of its node.</param>
/// <param name="Network">Bytes actually needed on the network (not the fixed slices).</param>
/// <param name="Landed">Rows (messages) that land in any window or slice, the sender's own included: the receive phase copies them out.</param>
public readonly record struct TokenLegs(double Nvlink, double Forward, double Network, double Landed);

/// <summary>Bytes and messages of one operation of one rank, from the routing expectations.</summary>
public static class Traffic
{
    /// <summary>Unit of a leg: a dispatch message (header + row) or a combine row.</summary>
    public static int UnitBytes(Operation op, Workload workload) =>
        op == Operation.Dispatch ? new StagingLayout(0, 0, workload.TopK, 0, workload.RowBytes, 1).MessageBytes : workload.RowBytes;

    /// <summary>Expected bytes per token on each leg.</summary>
    public static TokenLegs PerToken(Variant variant, Operation op, CombineRows rows, Routing routing, Workload workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        Cluster c = routing.Cluster;
        double unit = UnitBytes(op, workload);
        bool perSlot = op == Operation.Combine && rows == CombineRows.PerSlot;
        // Units per token that one rank (or one group of ranks) receives: distinct-rank hits, or top-k slots.
        double perRank = perSlot ? routing.SlotsPerRank : routing.RankHit;
        double landed = perSlot ? routing.TopK : routing.Ranks;

        if (!VariantNames.IsHierarchical(variant))
            return new TokenLegs((c.LsaSize - 1) * perRank * unit, 0, c.NetworkPeers * perRank * unit, landed * unit);

        if (c.Forced) throw new ArgumentException("The hierarchical scheme needs the node as LSA team.", nameof(routing));
        int g = c.GpusPerNode, n = c.Nodes;
        return new TokenLegs(
            Nvlink: (g - 1) * perRank * unit,
            Forward: (n - 1) * (g - 1) * perRank * unit,
            Network: routing.RemoteNodes * unit,      // once per remote node: the rail peer there forwards
            Landed: landed * unit);
    }

    /// <summary>The staging buffer of a rank: flat slices per network peer, or hierarchical slices per peer node.</summary>
    public static StagingLayout Staging(Cluster cluster, Workload workload, CombineRows rows, bool hierarchical = false)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(workload);
        int local = workload.Experts / cluster.World;
        return hierarchical
            ? new StagingLayout(cluster.Nodes - 1, cluster.GpusPerNode * local, workload.TopK, workload.TokensPerRank, workload.RowBytes, 1)
            : new StagingLayout(cluster.NetworkPeers, local, workload.TopK, workload.TokensPerRank, workload.RowBytes,
                rows == CombineRows.PerSlot ? workload.TopK : 1);
    }

    /// <summary>Bytes this rank puts on the network for one operation: whole slices (fixed) or actual bytes.</summary>
    public static double NetworkBytes(Variant variant, Operation op, CombineRows rows, Routing routing, Workload workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        if (!VariantNames.IsFixed(variant))
            return workload.TokensPerRank * PerToken(variant, op, rows, routing, workload).Network;
        StagingLayout s = Staging(routing.Cluster, workload, rows, VariantNames.IsHierarchical(variant));
        return s.Slices * (double)(op == Operation.Dispatch ? s.DispatchSliceBytes : s.CombineSliceBytes);
    }

    /// <summary>Network messages this rank issues per operation: an ncclSend and an ncclRecv per peer (twice for counts
    /// first), or a put per peer.</summary>
    public static int NetworkMessages(Variant variant, Cluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        int peers = VariantNames.IsHierarchical(variant) ? cluster.Nodes - 1 : cluster.NetworkPeers;
        return variant switch
        {
            Variant.FlatGin or Variant.HierarchicalGin => peers,
            Variant.FlatCountsFirst => 4 * peers,   // a round of counts, then a round of rows
            _ => 2 * peers,
        };
    }

    /// <summary>NVLink flags this rank raises per operation (one per LSA peer per NVLink hop).</summary>
    public static int NvlinkSignals(Variant variant, Cluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        int hops = VariantNames.IsHierarchical(variant) && cluster.Nodes > 1 ? 2 : 1;
        return hops * (cluster.LsaSize - 1);
    }

    /// <summary>Kernel launches per operation: send phase, NCCL's group, receive phase; one for GIN; one more for counts first.</summary>
    public static int Launches(Variant variant) => variant switch
    {
        Variant.FlatGin or Variant.HierarchicalGin => 1,
        Variant.FlatCountsFirst => 4,
        _ => 3,
    };
}
