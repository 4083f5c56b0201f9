using System;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// How one rank reaches each peer: through the peer's window at its LSA address (inside NCCL's LSA team: load/store
/// over NVLink), or through NCCL send/recv of staging slices (a network peer). NCCL's LSA team is a run of
/// consecutive ranks; the rank itself is always reached through its own window, at its local address (the one it also
/// reads through), never through its LSA alias: two virtual addresses of one buffer used in one kernel would need a
/// proxy fence between them (docs/kernels.md, "Protocol and memory ordering").
/// </summary>
internal readonly record struct PeerRoutes(nint[] Peers, ulong NetworkMask, string Summary)
{
    public int NetworkPeers => System.Numerics.BitOperations.PopCount(NetworkMask);

    /// <summary>Every other rank through the network; only the rank's own window by address.</summary>
    public static PeerRoutes AllNetwork(int rank, int world, nint ownWindow)
    {
        ThrowIfTooLarge(world);
        var peers = new nint[world];
        peers[rank] = ownWindow;
        ulong mask = 0;
        for (int peer = 0; peer < world; peer++) if (peer != rank) mask |= 1UL << peer;
        return new PeerRoutes(peers, mask, $"{world - 1} network peer(s) through NCCL send/recv (network forced)");
    }

    /// <summary>
    /// Peers inside the LSA team by address, the rest through the network; with <paramref name="nodeSize"/>, only the
    /// LSA peers in the rank's own run of nodeSize ranks are by address. The rank itself: <paramref name="ownWindow"/>.
    /// </summary>
    public static PeerRoutes FromLsa(NcclLsaWindow lsa, int rank, int world, nint ownWindow, int? nodeSize = null)
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
            if (peer == rank) peers[peer] = ownWindow;
            else if (lsaPeer >= 0 && lsaPeer < lsa.LsaSize && sameNode) peers[peer] = lsa.PeerPointers[lsaPeer];
            else mask |= 1UL << peer;
        }
        int network = System.Numerics.BitOperations.PopCount(mask);
        string nodes = nodeSize is int k ? $" (emulated nodes of {k} rank(s))" : string.Empty;
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
