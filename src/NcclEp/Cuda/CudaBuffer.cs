using System;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>Device memory from cuMemAlloc, owned by the caller or a handle.</summary>
internal sealed unsafe class CudaBuffer : EpBuffer
{
    private readonly CudaDevice _device;

    private CudaBuffer(CudaDevice device, nint pointer, long bytes) : base(pointer, bytes) => _device = device;

    public static CudaBuffer Allocate(CudaDevice device, long bytes)
    {
        using CudaContextScope scope = device.MakeCurrent();
        Check.Cu(CudaDriver.cuMemAlloc_v2(out nint pointer, (nuint)bytes), "cuMemAlloc_v2");
        return new CudaBuffer(device, pointer, bytes);
    }

    protected override void CopyIn(ReadOnlySpan<byte> source, long byteOffset)
    {
        // A copy from pageable memory may return before its DMA lands; kernels on non-blocking streams would not
        // wait for it. The device's transfer stream, synchronised, makes the upload complete when this returns.
        using CudaContextScope scope = _device.MakeCurrent();
        nint stream = _device.TransferStream;
        fixed (byte* p = source)
        {
            Check.Cu(CudaDriver.cuMemcpyHtoDAsync_v2(Pointer + (nint)byteOffset, p, (nuint)source.Length, stream), "cuMemcpyHtoDAsync_v2");
            Check.Cu(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
        }
    }

    protected override void CopyOut(Span<byte> destination, long byteOffset)
    {
        // Not the legacy default stream: it has a work queue of its own to share, and no reason to wait for it.
        using CudaContextScope scope = _device.MakeCurrent();
        nint stream = _device.TransferStream;
        fixed (byte* p = destination)
        {
            Check.Cu(CudaDriver.cuMemcpyDtoHAsync_v2(p, Pointer + (nint)byteOffset, (nuint)destination.Length, stream), "cuMemcpyDtoHAsync_v2");
            Check.Cu(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
        }
    }

    protected override void FillBytes(byte value)
    {
        // The transfer stream, not the context: co-located ranks' kernels may be waiting on this rank.
        using CudaContextScope scope = _device.MakeCurrent();
        nint stream = _device.TransferStream;
        Check.Cu(CudaDriver.cuMemsetD8Async(Pointer, value, (nuint)Bytes, stream), "cuMemsetD8Async");
        Check.Cu(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    protected override void Free()
    {
        using CudaContextScope scope = CudaContextScope.TryEnter(_device.Context, out _);
        _ = CudaDriver.cuMemFree_v2(Pointer);
    }
}
