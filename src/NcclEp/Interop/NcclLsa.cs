using System;
using System.Runtime.InteropServices;

namespace NcclEp.Interop;

/// <summary>
/// From an NCCL window to the load/store addresses of that window on every peer of the LSA team (control path).
/// </summary>
/// <remarks>
/// NCCL 2.29+ answers this on the host (ncclGetLsaDevicePointer). NCCL 2.28.x has no host query: its device
/// inline ncclGetLsaPointer computes <c>lsaFlatBase + peer * stride4G * 4 GiB + offset</c> from the
/// <c>ncclWindow_vidmem</c> that <c>ncclWindow_t</c> points to in device memory, so we read that struct
/// (layout checked only for 2.28.x) and do the same sum. Anything else is refused. The result is then checked
/// against what NCCL says on the host (ncclTeamLsa, ncclCommUserRank) and the driver (every address mapped);
/// callers must still prove it end to end with the stamp exchange at group creation. See docs/nccl-lsa.md.
/// </remarks>
internal static unsafe class NcclLsa
{
    private const ulong FourGiB = 1UL << 32;

    /// <summary>The LSA team and the peer addresses of <paramref name="window"/> (registered on <paramref name="comm"/>).</summary>
    /// <param name="comm">The ncclComm_t the window was registered on.</param>
    /// <param name="window">The ncclWindow_t; 0 when NCCL registered nothing (no symmetric memory and NCCL_LOCAL_REGISTER=0).</param>
    /// <param name="localPointer">This rank's registered address (checked to be on the same device), or 0.</param>
    /// <param name="context">A CUcontext to make current for the reads, or 0 to use the thread's current one.</param>
    public static NcclLsaWindow Inspect(nint comm, nint window, nint localPointer, nint context)
    {
        if (comm == 0) throw new ArgumentException("The communicator must be non-null.", nameof(comm));

        int version = Nccl.GetVersion();
        (int major, int minor, _) = Nccl.SplitVersion(version);
        bool hostQuery = (major > 2 || (major == 2 && minor >= 29)) && Nccl.HasGetLsaDevicePointer;
        if (!hostQuery && (major != 2 || minor != 28))
        {
            throw new NotSupportedException(
                $"Found NCCL {Nccl.FormatVersion(version)}: LSA peer addresses are read from NCCL 2.28.x's ncclWindow_vidmem layout or " +
                $"queried with ncclGetLsaDevicePointer (2.29+). Set {Nccl.PathVariable} to such a libnccl.so.2.");
        }

        NcclTeam team = Nccl.ncclTeamLsa(comm);
        Check.Nccl(Nccl.ncclCommUserRank(comm, out int worldRank), "ncclCommUserRank", comm);
        if (team.NRanks < 1 || (uint)team.Rank >= (uint)team.NRanks)
        {
            throw new InvalidOperationException(
                $"ncclTeamLsa returned an invalid team ({team.Rank} of {team.NRanks}); NCCL could not set up its Device API state (run with NCCL_DEBUG=WARN).");
        }

        // A team of one (each rank a node of its own, e.g. one GPU per node) has no peer to reach by address. NCCL then
        // has no symmetric memory to give (its window is a local registration), and none is needed: the rank's own
        // memory is its only load/store target and every other rank goes through the network.
        if (team.NRanks == 1) return SoleMember(worldRank, localPointer, version, "the rank alone on its node");

        using CudaContextScope scope = context == 0 ? default : CudaContextScope.Enter(context);
        // No symmetric memory for this communicator (NCCL 2.28.3-2.28.6 across nodes, or NCCL_WIN_ENABLE=0, cuMem off):
        // NCCL hands back its local registration (host memory). The node's peers then go through NCCL send/recv too,
        // still over NVLink inside NCCL, rather than failing the group.
        // With NCCL_LOCAL_REGISTER=0 it registers nothing and leaves the handle 0.
        if (window == 0 || (!hostQuery && CudaDriver.GetMemoryType(window) != CuMemoryType.Device))
            return SoleMember(worldRank, localPointer, version, NoSymmetricMemoryReason(version, team.NRanks));

        NcclLsaWindow result = hostQuery
            ? FromHostQuery(window, team, worldRank, version)
            : FromVidmem(window, team, worldRank, version);
        CheckMapped(result, localPointer);
        return result;
    }

    /// <summary>
    /// Only the rank itself by address (<paramref name="why"/>: no other rank on its node, or no symmetric memory): its
    /// own registered memory; every other rank goes through NCCL send/recv.
    /// </summary>
    internal static NcclLsaWindow SoleMember(int worldRank, nint localPointer, int version, string why)
    {
        if (localPointer == 0)
            throw new ArgumentException("Only this rank is reached by address, so its own registered address is needed (got 0).", nameof(localPointer));
        return new NcclLsaWindow(0, 1, worldRank, [localPointer], $"NCCL {Nccl.FormatVersion(version)}: {why}, no window read");
    }

    /// <summary>Why NCCL gave a communicator with <paramref name="nodeRanks"/> ranks on this node no symmetric memory, and what gives it.</summary>
    internal static string NoSymmetricMemoryReason(int version, int nodeRanks)
    {
        (int major, int minor, int patch) = Nccl.SplitVersion(version);
        string across = major == 2 && minor == 28 && patch < 7
            ? $"NCCL {Nccl.FormatVersion(version)} gives it only to a communicator on one node (2.28.7 and later across nodes too), "
            : string.Empty;
        return $"no symmetric memory for this communicator, so the {nodeRanks - 1} other rank(s) on this node go through NCCL send/recv too " +
            $"({across}with NCCL_WIN_ENABLE=1, cuMem on (NCCL_CUMEM_ENABLE) and CUDA P2P between the node's GPUs)";
    }

    private static NcclLsaWindow FromHostQuery(nint window, NcclTeam team, int worldRank, int version)
    {
        var peers = new nint[team.NRanks];
        for (int peer = 0; peer < peers.Length; peer++)
        {
            Check.Nccl(Nccl.ncclGetLsaDevicePointer(window, 0, peer, out peers[peer]), "ncclGetLsaDevicePointer");
        }

        return new NcclLsaWindow(team.Rank, team.NRanks, worldRank, peers, $"ncclGetLsaDevicePointer (NCCL {Nccl.FormatVersion(version)})");
    }

    private static NcclLsaWindow FromVidmem(nint window, NcclTeam team, int worldRank, int version)
    {
        NcclWindowVidmem vidmem = ReadVidmem(window, version);
        string found =
            $"read lsaFlatBase=0x{vidmem.LsaFlatBase:x}, lsaRank={vidmem.LsaRank}, worldRank={vidmem.WorldRank}, stride4G={vidmem.Stride4G}";
        if (vidmem.LsaFlatBase == 0 || vidmem.WinHost == 0 || vidmem.Stride4G == 0
            || vidmem.LsaRank != team.Rank || vidmem.WorldRank != worldRank)
        {
            throw new InvalidOperationException(
                $"The ncclWindow_vidmem of window 0x{window:x} does not match NCCL {Nccl.FormatVersion(version)}'s host view " +
                $"(lsaRank {team.Rank} of {team.NRanks}, world rank {worldRank}): {found}. The assumed 2.28.x layout does not hold.");
        }

        var peers = new nint[team.NRanks];
        for (int peer = 0; peer < peers.Length; peer++)
        {
            peers[peer] = (nint)((ulong)vidmem.LsaFlatBase + ((ulong)peer * vidmem.Stride4G * FourGiB));
        }

        return new NcclLsaWindow(team.Rank, team.NRanks, worldRank, peers, $"ncclWindow_vidmem (NCCL {Nccl.FormatVersion(version)}; {found})");
    }

    private static NcclWindowVidmem ReadVidmem(nint window, int version)
    {
        CuMemoryType type = CudaDriver.GetMemoryType(window);
        if (type != CuMemoryType.Device)
        {
            // Without symmetric support NCCL returns its local-registration handle (host memory) instead.
            throw new InvalidOperationException(
                $"ncclWindow_t 0x{window:x} is not device memory ({type}), so it is not an ncclWindow_vidmem: this communicator " +
                $"has no symmetric-memory support in NCCL {Nccl.FormatVersion(version)} (it needs at least 2 ranks, all on one node with direct " +
                "P2P between every pair of GPUs, NCCL_WIN_ENABLE=1 and cuMem enabled, NCCL_CUMEM_ENABLE). A 1-rank group has no LSA peers: use the local pointer.");
        }

        NcclWindowVidmem vidmem;
        Check.Cu(CudaDriver.cuMemcpyDtoH_v2(&vidmem, window, NcclWindowVidmem.Size), "cuMemcpyDtoH_v2");
        return vidmem;
    }

    private static void CheckMapped(NcclLsaWindow result, nint localPointer)
    {
        int localDevice = localPointer == 0 ? -1 : CudaDriver.GetPointerDevice(localPointer);
        for (int peer = 0; peer < result.PeerPointers.Length; peer++)
        {
            nint address = result.PeerPointers[peer];
            if (CudaDriver.GetMemoryType(address) != CuMemoryType.Device)
            {
                throw new InvalidOperationException(
                    $"LSA peer {peer}'s window address 0x{address:x} is not mapped device memory in this process ({result.Route}).");
            }

            if (peer == result.LsaRank && localDevice >= 0 && CudaDriver.GetPointerDevice(address) != localDevice)
            {
                throw new InvalidOperationException(
                    $"This rank's own LSA address 0x{address:x} is not on device {localDevice}, where the window was registered ({result.Route}).");
            }
        }
    }
}
