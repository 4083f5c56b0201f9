using System;
using System.Runtime.InteropServices;

namespace MoeLayerStep;

/// <summary>
/// The few CUDA driver calls a host brings along itself (an inference server has its own CUDA bindings): make the
/// GPU's primary context current, own a stream per rank, and the device copy that stands in for the experts.
/// </summary>
internal static partial class CudaStreams
{
    private const string Driver = "libcuda.so.1";

    public static int DeviceCount()
    {
        Check(cuDeviceGetCount(out int count), "cuDeviceGetCount");
        return count;
    }

    /// <summary>Makes <paramref name="device"/>'s primary context current on this thread and creates a non-blocking stream in it.</summary>
    public static nint CreateStream(int device)
    {
        Check(cuDevicePrimaryCtxRetain(out nint context, device), "cuDevicePrimaryCtxRetain");
        Check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
        Check(cuStreamCreate(out nint stream, 1), "cuStreamCreate");
        return stream;
    }

    public static void DestroyStream(int device, nint stream)
    {
        Check(cuStreamDestroy_v2(stream), "cuStreamDestroy_v2");
        Check(cuDevicePrimaryCtxRelease_v2(device), "cuDevicePrimaryCtxRelease_v2");
    }

    /// <summary>Enqueues a device-to-device copy on <paramref name="stream"/> (capturable).</summary>
    public static void CopyAsync(nint destination, nint source, long bytes, nint stream) =>
        Check(cuMemcpyDtoDAsync_v2(destination, source, (nuint)bytes, stream), "cuMemcpyDtoDAsync_v2");

    private static void Check(int status, string call)
    {
        if (status != 0) throw new InvalidOperationException($"{call} failed with CUresult {status}.");
    }

    [LibraryImport(Driver)]
    private static partial int cuDeviceGetCount(out int count);

    [LibraryImport(Driver)]
    private static partial int cuDevicePrimaryCtxRetain(out nint context, int device);

    [LibraryImport(Driver)]
    private static partial int cuDevicePrimaryCtxRelease_v2(int device);

    [LibraryImport(Driver)]
    private static partial int cuCtxSetCurrent(nint context);

    [LibraryImport(Driver)]
    private static partial int cuStreamCreate(out nint stream, uint flags);

    [LibraryImport(Driver)]
    private static partial int cuStreamDestroy_v2(nint stream);

    [LibraryImport(Driver)]
    private static partial int cuMemcpyDtoDAsync_v2(nint destination, nint source, nuint bytes, nint stream);
}
