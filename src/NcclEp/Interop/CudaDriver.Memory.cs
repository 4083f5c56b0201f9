using System;
using System.Runtime.InteropServices;

namespace NcclEp.Interop;

// Device and pinned host memory, copies and memsets.
internal static unsafe partial class CudaDriver
{
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuMemAlloc_v2(out nint devicePointer, nuint bytes);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuMemFree_v2(nint devicePointer);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuMemAllocHost_v2(out nint hostPointer, nuint bytes);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuMemFreeHost(nint hostPointer);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuMemGetInfo_v2(out nuint free, out nuint total);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuMemcpyHtoD_v2(nint destination, void* source, nuint bytes);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuMemcpyDtoH_v2(void* destination, nint source, nuint bytes);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuMemsetD8_v2(nint destination, byte value, nuint count);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuMemcpyHtoDAsync_v2(nint destination, void* source, nuint bytes, nint stream);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuMemcpyDtoHAsync_v2(void* destination, nint source, nuint bytes, nint stream);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuMemcpyDtoDAsync_v2(nint destination, nint source, nuint bytes, nint stream);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuMemsetD8Async(nint destination, byte value, nuint count, nint stream);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuMemsetD32Async(nint destination, uint value, nuint count, nint stream);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuMemcpyPeerAsync(
        nint destination, nint destinationContext, nint source, nint sourceContext, nuint bytes, nint stream);

    /// <summary>Synchronous copy of a host span to device memory (needs a current context).</summary>
    internal static void CopyToDevice<T>(nint destination, ReadOnlySpan<T> source)
        where T : unmanaged
    {
        fixed (T* p = source)
        {
            Check.Cu(cuMemcpyHtoD_v2(destination, p, (nuint)source.Length * (nuint)sizeof(T)), "cuMemcpyHtoD_v2");
        }
    }

    /// <summary>Synchronous copy of device memory into a host span (needs a current context).</summary>
    internal static void CopyToHost<T>(Span<T> destination, nint source)
        where T : unmanaged
    {
        fixed (T* p = destination)
        {
            Check.Cu(cuMemcpyDtoH_v2(p, source, (nuint)destination.Length * (nuint)sizeof(T)), "cuMemcpyDtoH_v2");
        }
    }
}
