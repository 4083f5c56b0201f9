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

    /// <summary>Peers inside the LSA team by address, the rest through the network.</summary>
    public static PeerRoutes FromLsa(NcclLsaWindow lsa, int rank, int world)
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
            if (lsaPeer >= 0 && lsaPeer < lsa.LsaSize) peers[peer] = lsa.PeerPointers[lsaPeer];
            else mask |= 1UL << peer;
        }
        int network = System.Numerics.BitOperations.PopCount(mask);
        string summary = network == 0
            ? lsa.Route
            : $"{lsa.Route}; LSA team of {lsa.LsaSize}, {network} network peer(s) through NCCL send/recv";
        return new PeerRoutes(peers, mask, summary);
    }

    private static void ThrowIfTooLarge(int world)
    {
        if (world > CudaKernelParams.MaxWorld)
            throw new NotSupportedException($"The Cuda backend supports at most {CudaKernelParams.MaxWorld} ranks (got {world}).");
    }
}
