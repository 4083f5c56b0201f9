using System;
using System.Runtime.InteropServices;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.Testing;

/// <summary>
/// Reads a handle's routing state (counts, offsets, source info) back to the host, on either backend: the state lives in
/// memory the handle allocated on its rank's device (native memory on Host) at <c>EpHandle.State</c>.
/// </summary>
public static unsafe class HandleState
{
    /// <summary>Copies <paramref name="destination"/>.Length values from <paramref name="address"/> inside <paramref name="handle"/>'s state.</summary>
    public static void Read<T>(EpHandle handle, nint address, Span<T> destination) where T : unmanaged
    {
        Span<byte> bytes = MemoryMarshal.AsBytes(destination);
        long offset = address - handle.State;
        if (offset < 0 || offset + bytes.Length > handle.Layout.TotalBytes)
            throw new ArgumentOutOfRangeException(nameof(address), $"0x{address:X} + {bytes.Length} B is outside the handle's state ({handle.Layout.TotalBytes} B)");
        if (bytes.IsEmpty) return;
        if (handle.Group.Backend != EpBackendKind.Cuda)
        {
            new ReadOnlySpan<byte>((void*)address, bytes.Length).CopyTo(bytes);
            return;
        }
        // As EpBuffer.Download does: on the device's transfer stream, not the legacy default stream (whose work queue
        // co-located ranks' kernels could sit behind).
        CudaDevice device = ((CudaRankBackend)handle.Group.RankBackend).Device;
        using CudaContextScope scope = device.MakeCurrent();
        fixed (byte* p = bytes)
        {
            Check.Cu(CudaDriver.cuMemcpyDtoHAsync_v2(p, address, (nuint)bytes.Length, device.TransferStream), "cuMemcpyDtoHAsync_v2 (handle state)");
            Check.Cu(CudaDriver.cuStreamSynchronize(device.TransferStream), "cuStreamSynchronize (handle state)");
        }
    }
}
