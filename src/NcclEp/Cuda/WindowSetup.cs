using System;
using System.Globalization;
using NcclEp.Backend;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// Creation-time work common to every fabric: the active mask starts all-live, and the peer addressing
/// is proven — each rank writes a stamp into its window and every rank reads every peer's stamp through
/// the address it will use in the kernels.
/// </summary>
internal static unsafe class WindowSetup
{
    private const ulong StampTag = 0x4E43_4550_0000_0000UL; // "NCEP"

    public static void InitializeControl(CudaFabric fabric)
    {
        for (int r = 0; r < fabric.WorldSize; r++) WriteControl(fabric, r);
        for (int r = 0; r < fabric.WorldSize; r++) CheckPeers(fabric, r);
    }

    /// <summary>Rank <paramref name="rank"/>'s half of the check: the all-live mask and its stamp, written and synchronised.</summary>
    internal static void WriteControl(CudaFabric fabric, int rank)
    {
        int world = fabric.WorldSize;
        Span<int> mask = stackalloc int[world];
        mask.Fill(1);
        using CudaContextScope scope = fabric.Device(rank).MakeCurrent();
        nint window = fabric.Window(rank);
        fixed (int* m = mask) Check.Cu(CudaDriver.cuMemcpyHtoD_v2(window + WindowControl.ActiveMask, m, (nuint)(world * 4)), "cuMemcpyHtoD_v2");
        ulong stamp = Stamp(rank);
        Check.Cu(CudaDriver.cuMemcpyHtoD_v2(window + WindowControl.Stamp, &stamp, 8), "cuMemcpyHtoD_v2");
        Check.Cu(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
    }

    /// <summary>Rank <paramref name="rank"/> reads every peer's stamp through the address the kernels will use (after every rank wrote its own).</summary>
    internal static void CheckPeers(CudaFabric fabric, int rank)
    {
        using CudaContextScope scope = fabric.Device(rank).MakeCurrent();
        for (int peer = 0; peer < fabric.WorldSize; peer++)
        {
            if ((fabric.NetworkMask(rank) >> peer & 1) != 0) continue; // reached through NCCL send/recv, not by address
            ulong seen = 0;
            CuResult status = CudaDriver.cuMemcpyDtoH_v2(&seen, fabric.PeerWindow(rank, peer) + WindowControl.Stamp, 8);
            if (status != CuResult.Success || seen != Stamp(peer))
            {
                throw new EpException(string.Create(CultureInfo.InvariantCulture,
                    $"Peer addressing check failed: rank {rank} read 0x{seen:x16} (status {status}) at peer {peer}'s window instead of 0x{Stamp(peer):x16}. Fabric: {fabric.Describe()}. The peer addresses derived from the NCCL window do not reach the peer's memory; this NCCL version's window layout is not the one NcclEp was built for."));
            }
        }
    }

    private static ulong Stamp(int rank) => StampTag | ((ulong)(uint)rank << 8) | 0xA5;
}
