using System;
using System.Runtime.InteropServices;

namespace MoeLayerStep;

/// <summary>
/// The few CUDA driver calls a host brings along itself (an inference server has its own CUDA bindings): make the
/// GPU's primary context current on a rank thread, and the device copy that stands in for the experts. The rank's stream
/// comes from <c>EpGroup.CreateStream</c>, which co-located ranks need (each on a hardware work queue of its own).
/// </summary>
internal static partial class CudaStreams
{
    private const string Driver = "libcuda.so.1";

    public static int DeviceCount()
    {
        Check(cuDeviceGetCount(out int count), "cuDeviceGetCount");
        return count;
    }

    /// <summary>Makes <paramref name="device"/>'s primary context current on this thread (for the copies of <see cref="CopyAsync"/>).</summary>
    public static void EnterContext(int device)
    {
        Check(cuDevicePrimaryCtxRetain(out nint context, device), "cuDevicePrimaryCtxRetain");
        Check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
    }

    public static void LeaveContext(int device) => Check(cuDevicePrimaryCtxRelease_v2(device), "cuDevicePrimaryCtxRelease_v2");

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
    private static partial int cuMemcpyDtoDAsync_v2(nint destination, nint source, nuint bytes, nint stream);
}
