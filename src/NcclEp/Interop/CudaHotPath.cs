using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace NcclEp.Interop;

/// <summary>
/// Data-path driver calls through unmanaged function pointers taken once from libcuda with
/// <see cref="NativeLibrary.GetExport"/>: no marshalling stub, no allocation, nothing formatted. Each wrapper
/// returns the raw status; the caller decides whether to <see cref="Check.Cu"/> it.
/// </summary>
internal static unsafe class CudaHotPath
{
    private static Table? s_table;

    /// <summary>cuLaunchKernel with no <c>extra</c> array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CuResult LaunchKernel(
        nint function,
        uint gridX,
        uint gridY,
        uint gridZ,
        uint blockX,
        uint blockY,
        uint blockZ,
        uint sharedMemBytes,
        nint stream,
        void** kernelParams) =>
        Get().LaunchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ, sharedMemBytes, stream, kernelParams, null);

    /// <summary>cuEventRecord.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CuResult EventRecord(nint cuEvent, nint stream) => Get().EventRecord(cuEvent, stream);

    /// <summary>cuStreamWaitEvent (flags 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CuResult StreamWaitEvent(nint stream, nint cuEvent) => Get().StreamWaitEvent(stream, cuEvent, 0);

    /// <summary>cuGraphLaunch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CuResult GraphLaunch(nint graphExec, nint stream) => Get().GraphLaunch(graphExec, stream);

    /// <summary>cuMemsetD8Async: <paramref name="count"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CuResult MemsetD8Async(nint destination, byte value, nuint count, nint stream) =>
        Get().MemsetD8Async(destination, value, count, stream);

    /// <summary>cuMemsetD32Async: <paramref name="count"/> 32-bit words.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CuResult MemsetD32Async(nint destination, uint value, nuint count, nint stream) =>
        Get().MemsetD32Async(destination, value, count, stream);

    /// <summary>cuMemcpyDtoDAsync_v2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CuResult MemcpyDtoDAsync(nint destination, nint source, nuint bytes, nint stream) =>
        Get().MemcpyDtoDAsync(destination, source, bytes, stream);

    /// <summary>Resolves the pointers now (e.g. at group creation) so the first data-path call does no work.</summary>
    public static void Prepare() => _ = Get();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Table Get() => Volatile.Read(ref s_table) ?? Resolve();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Table Resolve()
    {
        // Racing threads may both build a table; they hold the same addresses, and the first one published wins.
        var table = new Table(CudaDriver.LibraryHandle);
        return Interlocked.CompareExchange(ref s_table, table, null) ?? table;
    }

    private sealed class Table(nint library)
    {
        public readonly delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, CuResult> LaunchKernel =
            (delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, CuResult>)NativeLibrary.GetExport(library, "cuLaunchKernel");

        public readonly delegate* unmanaged<nint, nint, CuResult> EventRecord =
            (delegate* unmanaged<nint, nint, CuResult>)NativeLibrary.GetExport(library, "cuEventRecord");

        public readonly delegate* unmanaged<nint, nint, uint, CuResult> StreamWaitEvent =
            (delegate* unmanaged<nint, nint, uint, CuResult>)NativeLibrary.GetExport(library, "cuStreamWaitEvent");

        public readonly delegate* unmanaged<nint, nint, CuResult> GraphLaunch =
            (delegate* unmanaged<nint, nint, CuResult>)NativeLibrary.GetExport(library, "cuGraphLaunch");

        public readonly delegate* unmanaged<nint, byte, nuint, nint, CuResult> MemsetD8Async =
            (delegate* unmanaged<nint, byte, nuint, nint, CuResult>)NativeLibrary.GetExport(library, "cuMemsetD8Async");

        public readonly delegate* unmanaged<nint, uint, nuint, nint, CuResult> MemsetD32Async =
            (delegate* unmanaged<nint, uint, nuint, nint, CuResult>)NativeLibrary.GetExport(library, "cuMemsetD32Async");

        public readonly delegate* unmanaged<nint, nint, nuint, nint, CuResult> MemcpyDtoDAsync =
            (delegate* unmanaged<nint, nint, nuint, nint, CuResult>)NativeLibrary.GetExport(library, "cuMemcpyDtoDAsync_v2");
    }
}
