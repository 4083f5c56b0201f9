using System;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// Device memory from cuMemAlloc, owned by the caller or a handle; or (<see cref="Borrow"/>) device memory the caller
/// allocated elsewhere, which this wrapper never frees.
/// </summary>
internal sealed unsafe class CudaBuffer : EpBuffer
{
    private readonly CudaDevice _device;
    private readonly bool _owned;

    private CudaBuffer(CudaDevice device, nint pointer, long bytes, bool owned) : base(pointer, bytes)
    {
        _device = device;
        _owned = owned;
        if (!owned) GC.SuppressFinalize(this);
    }

    public static CudaBuffer Allocate(CudaDevice device, long bytes)
    {
        using CudaContextScope scope = device.MakeCurrent();
        Check.Cu(CudaDriver.cuMemAlloc_v2(out nint pointer, (nuint)bytes), "cuMemAlloc_v2");
        return new CudaBuffer(device, pointer, bytes, owned: true);
    }

    /// <summary>
    /// A view of <paramref name="bytes"/> bytes of the caller's device memory at <paramref name="pointer"/>, checked with
    /// the driver: device memory (not pinned host or managed memory), on <paramref name="device"/>, and the whole range
    /// inside one allocation. Disposing it frees nothing.
    /// </summary>
    /// <exception cref="ArgumentException">One of the checks failed (named <paramref name="paramName"/>).</exception>
    public static CudaBuffer Borrow(CudaDevice device, nint pointer, long bytes, string paramName)
    {
        using CudaContextScope scope = device.MakeCurrent();
        CuMemoryType type = CudaDriver.GetMemoryType(pointer);
        if (type != CuMemoryType.Device)
        {
            string what = type == CuMemoryType.Unknown ? "memory the CUDA driver does not know (not allocated through CUDA)" : $"{type} memory";
            ThrowHelper.Argument(paramName, $"0x{pointer:X} is {what}; a handle's state must be device memory on GPU {device.Ordinal}.");
        }
        int ordinal = CudaDriver.GetPointerDevice(pointer);
        if (ordinal != device.Ordinal)
            ThrowHelper.Argument(paramName, $"0x{pointer:X} is memory of GPU {ordinal}; this rank runs on GPU {device.Ordinal}.");
        nint start = 0;
        nuint size = 0;
        Check.Cu(CudaDriver.cuPointerGetAttribute(&start, CuPointerAttribute.RangeStartAddress, pointer), "cuPointerGetAttribute");
        Check.Cu(CudaDriver.cuPointerGetAttribute(&size, CuPointerAttribute.RangeSize, pointer), "cuPointerGetAttribute");
        long left = (long)start + (long)size - pointer;
        if (left < bytes)
            ThrowHelper.Argument(paramName, $"0x{pointer:X} has {left} bytes left in its allocation (0x{start:X}, {size} bytes); {bytes} are needed.");
        return new CudaBuffer(device, pointer, bytes, owned: false);
    }

    private protected override void CopyIn(ReadOnlySpan<byte> source, long byteOffset)
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

    private protected override void CopyOut(Span<byte> destination, long byteOffset)
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

    private protected override void FillBytes(byte value)
    {
        // The transfer stream, not the context: co-located ranks' kernels may be waiting on this rank.
        using CudaContextScope scope = _device.MakeCurrent();
        nint stream = _device.TransferStream;
        Check.Cu(CudaDriver.cuMemsetD8Async(Pointer, value, (nuint)Bytes, stream), "cuMemsetD8Async");
        Check.Cu(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    private protected override void Free()
    {
        if (!_owned) return;
        using CudaContextScope scope = CudaContextScope.TryEnter(_device.Context, out _);
        _ = CudaDriver.cuMemFree_v2(Pointer);
    }
}
