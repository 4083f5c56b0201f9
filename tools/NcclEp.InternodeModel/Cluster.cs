namespace NcclEp.InternodeModel;

/// <summary>Nodes of GPUs, one rank per GPU; LSA peers are the ranks of the caller's NCCL LSA team.</summary>
/// <param name="Nodes">Nodes (N).</param>
/// <param name="GpusPerNode">GPUs per node (G), each with its own NIC.</param>
public sealed record Cluster(int Nodes, int GpusPerNode)
{
    /// <summary>Ranks in the LSA team (NVLink load/store). The node by default; 1 when every peer is forced onto
    /// the network (<c>NCCL_P2P_DISABLE=1 NCCL_SHM_DISABLE=1</c>).</summary>
    public int LsaSize { get; init; } = GpusPerNode;

    /// <summary>Ranks in the group (W = N·G).</summary>
    public int World => Nodes * GpusPerNode;

    /// <summary>Network peers of one rank (R = W − lsaSize).</summary>
    public int NetworkPeers => World - LsaSize;

    /// <summary>Whether every peer was forced onto the network although the node has NVLink.</summary>
    public bool Forced => LsaSize != GpusPerNode;

    /// <summary>"2 × 8", with " (forced)" when the LSA team was shrunk.</summary>
    public string Label => Forced ? $"{Nodes} × {GpusPerNode} (LSA {LsaSize})" : $"{Nodes} × {GpusPerNode}";
}
