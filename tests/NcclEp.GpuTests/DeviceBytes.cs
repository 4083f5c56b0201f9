using System;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.GpuTests;

/// <summary>
/// Copies between the host and any device address of a rank (the window's rows of zero-copy receive, which no
/// <see cref="EpBuffer"/> describes), on the device's transfer stream and synchronised, as EpBuffer's transfers are;
/// a plain copy on the Host backend.
/// </summary>
internal static unsafe class DeviceBytes
{
    public static void Read(EpGroup g, nint address, Span<byte> destination)
    {
        if (destination.IsEmpty) return;
        if (g.Backend != EpBackendKind.Cuda)
        {
            new ReadOnlySpan<byte>((void*)address, destination.Length).CopyTo(destination);
            return;
        }
        CudaDevice device = ((CudaRankBackend)g.RankBackend).Device;
        using CudaContextScope scope = device.MakeCurrent();
        fixed (byte* p = destination)
        {
            Check.Cu(CudaDriver.cuMemcpyDtoHAsync_v2(p, address, (nuint)destination.Length, device.TransferStream), "cuMemcpyDtoHAsync_v2");
            Check.Cu(CudaDriver.cuStreamSynchronize(device.TransferStream), "cuStreamSynchronize");
        }
    }

    public static void Write(EpGroup g, nint address, ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty) return;
        if (g.Backend != EpBackendKind.Cuda)
        {
            source.CopyTo(new Span<byte>((void*)address, source.Length));
            return;
        }
        CudaDevice device = ((CudaRankBackend)g.RankBackend).Device;
        using CudaContextScope scope = device.MakeCurrent();
        fixed (byte* p = source)
        {
            Check.Cu(CudaDriver.cuMemcpyHtoDAsync_v2(address, p, (nuint)source.Length, device.TransferStream), "cuMemcpyHtoDAsync_v2");
            Check.Cu(CudaDriver.cuStreamSynchronize(device.TransferStream), "cuStreamSynchronize");
        }
    }
}
