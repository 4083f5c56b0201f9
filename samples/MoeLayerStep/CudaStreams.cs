using System;
using System.Runtime.InteropServices;

namespace MoeLayerStep;

/// <summary>
/// The few CUDA driver calls a host brings along itself (an inference server has its own CUDA bindings): make the
/// GPU's primary context current on a rank thread, and load and launch the kernel that stands in for the experts. The
/// rank's stream comes from <c>EpGroup.CreateStream</c>, which co-located ranks need (each on a hardware work queue of
/// its own).
/// </summary>
internal static partial class CudaStreams
{
    private const string Driver = "libcuda.so.1";

    public static int DeviceCount()
    {
        Check(cuDeviceGetCount(out int count), "cuDeviceGetCount");
        return count;
    }

    /// <summary>Makes <paramref name="device"/>'s primary context current on this thread (for the experts kernel's module and launches).</summary>
    public static void EnterContext(int device)
    {
        Check(cuDevicePrimaryCtxRetain(out nint context, device), "cuDevicePrimaryCtxRetain");
        Check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
    }

    public static void LeaveContext(int device) => Check(cuDevicePrimaryCtxRelease_v2(device), "cuDevicePrimaryCtxRelease_v2");

    /// <summary>The NVRTC architecture of <paramref name="device"/>, e.g. <c>sm_90</c>.</summary>
    public static string Architecture(int device)
    {
        Check(cuDeviceGetAttribute(out int major, 75, device), "cuDeviceGetAttribute(compute capability major)");
        Check(cuDeviceGetAttribute(out int minor, 76, device), "cuDeviceGetAttribute(compute capability minor)");
        return $"sm_{major}{minor}";
    }

    /// <summary>Loads a cubin into the current context; returns the named kernel.</summary>
    public static unsafe nint LoadFunction(byte[] cubin, string name, out nint module)
    {
        fixed (byte* image = cubin) Check(cuModuleLoadData(out module, image), "cuModuleLoadData");
        Check(cuModuleGetFunction(out nint function, module, name), "cuModuleGetFunction");
        return function;
    }

    public static void UnloadModule(nint module) => Check(cuModuleUnload(module), "cuModuleUnload");

    /// <summary>Enqueues <paramref name="function"/> on <paramref name="stream"/> (capturable).</summary>
    public static unsafe void Launch(nint function, uint gridX, uint gridY, uint threads, nint stream, void** arguments) =>
        Check(cuLaunchKernel(function, gridX, gridY, 1, threads, 1, 1, 0, stream, arguments, null), "cuLaunchKernel");

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
    private static partial int cuDeviceGetAttribute(out int value, int attribute, int device);

    [LibraryImport(Driver)]
    private static unsafe partial int cuModuleLoadData(out nint module, byte* image);

    [LibraryImport(Driver, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int cuModuleGetFunction(out nint function, nint module, string name);

    [LibraryImport(Driver)]
    private static partial int cuModuleUnload(nint module);

    [LibraryImport(Driver)]
    private static unsafe partial int cuLaunchKernel(nint function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedBytes, nint stream, void** arguments, void** extra);
}
