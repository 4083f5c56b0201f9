using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NcclEp.Interop;

/// <summary>
/// Points this assembly's <c>[LibraryImport]</c> bindings at the libraries <see cref="NativeLibraryLoader"/> loads: the
/// CUDA driver, NCCL and NVRTC, each on the first call of one of its bindings, with its override variable honoured and a
/// <see cref="NativeLibraryMissingException"/> (not a bare DllNotFoundException) when it is absent. The runtime asks once
/// per binding; the libraries themselves are loaded once.
/// </summary>
internal static class NativeLibraryResolver
{
    /// <summary>Registers the resolver when the assembly loads: before any binding can be called. Loads nothing.</summary>
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "The resolver must be in place before the first binding is called from anywhere; registering it costs nothing and loads no library.")]
    internal static void Register() => NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) => libraryName switch
    {
        CudaDriver.LibraryName => CudaDriver.LibraryHandle,
        Nccl.LibraryName => Nccl.LibraryHandle,
        Nvrtc.LibraryName => Nvrtc.LibraryHandle,
        _ => 0,  // not ours: the runtime's own probing
    };
}
