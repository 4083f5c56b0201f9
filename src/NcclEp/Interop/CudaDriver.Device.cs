using System.Runtime.InteropServices;

namespace NcclEp.Interop;

// Devices, primary contexts, peer access and pointer queries.
internal static unsafe partial class CudaDriver
{

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuDeviceGetCount(out int count);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuDeviceGetName(byte* name, int length, int device);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuDeviceGetAttribute(out int value, CuDeviceAttribute attribute, int device);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuDeviceCanAccessPeer(out int canAccessPeer, int device, int peerDevice);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuDevicePrimaryCtxRetain(out nint context, int device);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuDevicePrimaryCtxRelease_v2(int device);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuCtxSetCurrent(nint context);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuCtxGetCurrent(out nint context);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuCtxSynchronize();

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuCtxGetLimit(out nuint value, CuLimit limit);

    /// <summary>Sets a limit of the current context; raising the stack size waits for the context's work to finish.</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuCtxSetLimit(CuLimit limit, nuint value);

    /// <summary>Maps <paramref name="peerContext"/>'s memory into the current context; flags must be 0.</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuCtxEnablePeerAccess(nint peerContext, uint flags);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuPointerGetAttribute(void* data, CuPointerAttribute attribute, nint pointer);

    /// <summary>The device's marketing name (cuDeviceGetName).</summary>
    internal static string GetDeviceName(int device)
    {
        const int Capacity = 256;
        byte* buffer = stackalloc byte[Capacity];
        Check.Cu(cuDeviceGetName(buffer, Capacity, device), "cuDeviceGetName");
        return Marshal.PtrToStringUTF8((nint)buffer) ?? string.Empty;
    }

    /// <summary>One device attribute (cuDeviceGetAttribute).</summary>
    internal static int GetAttribute(int device, CuDeviceAttribute attribute)
    {
        Check.Cu(cuDeviceGetAttribute(out int value, attribute, device), "cuDeviceGetAttribute");
        return value;
    }

    /// <summary>The driver's CUDA version as an integer, e.g. 13000 for 13.0 (cuDriverGetVersion).</summary>
    internal static int GetDriverVersion()
    {
        _ = LibraryHandle;
        Check.Cu(cuDriverGetVersion(out int version), "cuDriverGetVersion");
        return version;
    }

    /// <summary>The CUmemorytype of an address, or <see cref="CuMemoryType.Unknown"/> when the driver does not know it.</summary>
    internal static CuMemoryType GetMemoryType(nint pointer)
    {
        uint type = 0;
        CuResult status = cuPointerGetAttribute(&type, CuPointerAttribute.MemoryType, pointer);
        return status == CuResult.Success ? (CuMemoryType)type : CuMemoryType.Unknown;
    }

    /// <summary>The ordinal of the device that holds an address (CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL).</summary>
    internal static int GetPointerDevice(nint pointer)
    {
        int ordinal = -1;
        Check.Cu(cuPointerGetAttribute(&ordinal, CuPointerAttribute.DeviceOrdinal, pointer), "cuPointerGetAttribute");
        return ordinal;
    }
}
