using System.Runtime.InteropServices;

namespace NcclEp.Interop;

// Modules, functions and the launch.
internal static unsafe partial class CudaDriver
{
    /// <summary>Loads a CUBIN, fatbin or NUL-terminated PTX image into the current context.</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuModuleLoadData(out nint module, void* image);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuModuleUnload(nint module);

    /// <summary>cuFuncLoad (CUDA 12.4+): loads a function now rather than at its first launch (lazy loading).</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuFuncLoad(nint function);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuModuleGetFunction(
        out nint function, nint module, [MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    /// <summary>The address and size of a module's global (CUDA_ERROR_NOT_FOUND when the module has none of that name).</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuModuleGetGlobal_v2(
        out nint devicePointer, out nuint bytes, nint module, [MarshalAs(UnmanagedType.LPUTF8Str)] string name);

    /// <summary>The module a function belongs to.</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuFuncGetModule(out nint module, nint function);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuFuncSetAttribute(nint function, CuFunctionAttribute attribute, int value);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuFuncGetAttribute(out int value, CuFunctionAttribute attribute, nint function);

    /// <summary>How many blocks of <paramref name="function"/> fit on one SM at once (registers, shared memory, threads).</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuOccupancyMaxActiveBlocksPerMultiprocessor(out int blocks, nint function, int blockSize, nuint dynamicSharedBytes);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuLaunchKernel(
        nint function,
        uint gridDimX,
        uint gridDimY,
        uint gridDimZ,
        uint blockDimX,
        uint blockDimY,
        uint blockDimZ,
        uint sharedMemBytes,
        nint stream,
        void** kernelParams,
        void** extra);

    /// <summary>cuLaunchKernelEx (CUDA 12.0+): a launch with attributes (programmatic dependent launch, <see cref="CuLaunchConfig"/>).</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuLaunchKernelEx(CuLaunchConfig* config, nint function, void** kernelParams, void** extra);
}
