using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace NcclEp.Interop;

/// <summary>
/// Bindings of the CUDA driver API in <c>libcuda.so.1</c>, under the symbol names that CUDA 13's cuda.h maps
/// the public names to (cuMemAlloc → cuMemAlloc_v2, cuEventElapsedTime → cuEventElapsedTime_v2, ...), with
/// blittable signatures: the data-path calls (cuLaunchKernel, cuEventRecord, cuGraphLaunch, the async copies) marshal
/// nothing and allocate nothing. Device addresses are <see cref="nint"/>
/// (CUdeviceptr is 64-bit on x64); handles (CUcontext, CUstream, ...) are <see cref="nint"/>.
/// </summary>
/// <remarks>
/// Nothing loads at type-load time. <see cref="NativeLibraryResolver"/> loads the library at the first binding called;
/// call <see cref="Initialize"/> or <see cref="TryInitialize"/> first to also run cuInit and learn that no GPU is there
/// as a reason rather than an exception.
/// </remarks>
internal static unsafe partial class CudaDriver
{
    /// <summary>The soname of the driver library, as the dynamic loader finds it.</summary>
    internal const string LibraryName = "libcuda.so.1";

    private const string MissingHint =
        "It ships with the NVIDIA driver; without a GPU use the Host backend.";

    private static readonly Lock s_lock = new();
    private static nint s_library;
    private static volatile bool s_initialized;

    /// <summary>The loader handle of libcuda (for <see cref="NativeLibrary.GetExport"/>); loads it on first use.</summary>
    internal static nint LibraryHandle
    {
        get
        {
            nint handle = Volatile.Read(ref s_library);
            return handle != 0 ? handle : LoadLibrary();
        }
    }

    /// <summary>
    /// Loads libcuda, runs cuInit and checks that at least one device exists. Returns false with a reason
    /// (and never throws) when the library is absent, cuInit fails or there are no devices.
    /// </summary>
    internal static bool TryInitialize(out string reason)
    {
        if (s_initialized)
        {
            reason = string.Empty;
            return true;
        }

        if (!TryLoadLibrary(out NativeLibraryMissingException? missing))
        {
            reason = missing.Message;
            return false;
        }

        CuResult status = cuInit(0);
        if (status != CuResult.Success)
        {
            reason = $"cuInit failed: {DescribeResult(status)}.";
            return false;
        }

        status = cuDeviceGetCount(out int count);
        if (status != CuResult.Success)
        {
            reason = $"cuDeviceGetCount failed: {DescribeResult(status)}.";
            return false;
        }

        if (count == 0)
        {
            reason = "The CUDA driver loaded and initialized but reports 0 devices.";
            return false;
        }

        s_initialized = true;
        reason = string.Empty;
        return true;
    }

    /// <summary>
    /// Like <see cref="TryInitialize"/> but throws: <see cref="NativeLibraryMissingException"/> when libcuda is
    /// absent, <see cref="CudaException"/> when cuInit fails or no device is present.
    /// </summary>
    internal static void Initialize()
    {
        if (s_initialized)
        {
            return;
        }

        _ = LoadLibrary();
        Check.Cu(cuInit(0), "cuInit");
        Check.Cu(cuDeviceGetCount(out int count), "cuDeviceGetCount");
        if (count == 0)
        {
            throw new CudaException("cuDeviceGetCount", CuResult.ErrorNoDevice, "The driver reports 0 devices.");
        }

        s_initialized = true;
    }

    /// <summary>"CUDA_ERROR_OUT_OF_MEMORY (2): out of memory", from the driver's own tables when it is loaded.</summary>
    internal static string DescribeResult(CuResult status)
    {
        if (Volatile.Read(ref s_library) != 0)
        {
            byte* namePtr = null;
            byte* textPtr = null;
            if (cuGetErrorName(status, &namePtr) == CuResult.Success && namePtr != null
                && cuGetErrorString(status, &textPtr) == CuResult.Success && textPtr != null)
            {
                return $"{Marshal.PtrToStringUTF8((nint)namePtr)} ({(int)status}): {Marshal.PtrToStringUTF8((nint)textPtr)}";
            }
        }

        return $"{status} ({(int)status})";
    }

    private static nint LoadLibrary()
    {
        if (!TryLoadLibrary(out NativeLibraryMissingException? missing))
        {
            throw missing;
        }

        return s_library;
    }

    private static bool TryLoadLibrary([System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out NativeLibraryMissingException? missing)
    {
        lock (s_lock)
        {
            if (s_library != 0)
            {
                missing = null;
                return true;
            }

            if (!NativeLibraryLoader.TryLoad(LibraryName, null, MissingHint, [LibraryName], out nint handle, out missing))
            {
                return false;
            }

            Volatile.Write(ref s_library, handle);
            return true;
        }
    }

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuInit(uint flags);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuDriverGetVersion(out int driverVersion);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuGetErrorName(CuResult error, byte** name);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuGetErrorString(CuResult error, byte** text);
}
