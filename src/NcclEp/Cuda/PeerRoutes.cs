using System;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// How one rank reaches each peer: through the peer's window at its LSA address (inside NCCL's LSA team: load/store
/// over NVLink), or through NCCL send/recv of staging slices (a network peer). NCCL's LSA team is a run of
/// consecutive ranks; the rank itself is always reached through its own window.
/// </summary>
internal readonly record struct PeerRoutes(nint[] Peers, ulong NetworkMask, string Summary)
{
    /// <summary>Environment switch that makes every other rank a network peer (testing the network path on one node).</summary>
    public const string ForceNetworkVariable = "NCCLEP_FORCE_NETWORK";

    public static bool NetworkForced => Environment.GetEnvironmentVariable(ForceNetworkVariable) is "1" or "true";

    /// <summary>
    /// Environment switch that cuts the ranks into "nodes" of this many consecutive ranks: a peer in another node is a
    /// network peer even when NCCL's LSA team could reach it by address. With 4 GPUs and 2, each rank has an LSA peer
    /// and two network peers, as across two nodes; NCCL's own send/recv then still travels over NVLink.
    /// </summary>
    public const string NodeSizeVariable = "NCCLEP_NODE_SIZE";

    /// <summary>The emulated node size (<see cref="NodeSizeVariable"/>), or null when unset.</summary>
    public static int? EmulatedNodeSize => ParseNodeSize(Environment.GetEnvironmentVariable(NodeSizeVariable));

    internal static int? ParseNodeSize(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int size) || size < 1)
            throw new EpException($"{NodeSizeVariable} is '{text}': it must be a whole number of ranks per emulated node, at least 1.");
        return size;
    }

    public int NetworkPeers => System.Numerics.BitOperations.PopCount(NetworkMask);

    /// <summary>Every other rank through the network; only the rank's own window by address.</summary>
    public static PeerRoutes AllNetwork(int rank, int world, nint ownWindow)
    {
        ThrowIfTooLarge(world);
        var peers = new nint[world];
        peers[rank] = ownWindow;
        ulong mask = 0;
        for (int peer = 0; peer < world; peer++) if (peer != rank) mask |= 1UL << peer;
        return new PeerRoutes(peers, mask, $"{world - 1} network peer(s) through NCCL send/recv ({ForceNetworkVariable}=1)");
    }

    /// <summary>
    /// Peers inside the LSA team by address, the rest through the network; with <paramref name="nodeSize"/>, only the
    /// LSA peers in the rank's own run of nodeSize ranks are by address.
    /// </summary>
    public static PeerRoutes FromLsa(NcclLsaWindow lsa, int rank, int world, int? nodeSize = null)
    {
        ThrowIfTooLarge(world);
        if (lsa.WorldRank != rank)
            throw new EpException($"Rank {rank}: NCCL reports world rank {lsa.WorldRank} for this rank's window; the communicator's ranks do not match the group's.");
        int first = rank - lsa.LsaRank;
        var peers = new nint[world];
        ulong mask = 0;
        for (int peer = 0; peer < world; peer++)
        {
            int lsaPeer = peer - first;
            bool sameNode = nodeSize is not int size || peer / size == rank / size;
            if (lsaPeer >= 0 && lsaPeer < lsa.LsaSize && sameNode) peers[peer] = lsa.PeerPointers[lsaPeer];
            else mask |= 1UL << peer;
        }
        int network = System.Numerics.BitOperations.PopCount(mask);
        string nodes = nodeSize is int k ? $" (emulated nodes of {k} rank(s), {NodeSizeVariable}={k})" : string.Empty;
        string summary = network == 0
            ? lsa.Route + nodes
            : $"{lsa.Route}; LSA team of {lsa.LsaSize}, {network} network peer(s) through NCCL send/recv{nodes}";
        return new PeerRoutes(peers, mask, summary);
    }

    private static void ThrowIfTooLarge(int world)
    {
        if (world > CudaKernelParams.MaxWorld)
            throw new NotSupportedException($"The Cuda backend supports at most {CudaKernelParams.MaxWorld} ranks (got {world}).");
    }
}
