using System.Runtime.InteropServices;
using System.Threading;

namespace NcclEp.Interop;

/// <summary>
/// Bindings of NVRTC under their C names (<c>[LibraryImport]</c> of <see cref="LibraryName"/>, which
/// <see cref="NativeLibraryResolver"/> points at the file named by <c>NCCLEP_NVRTC_PATH</c>, else <c>libnvrtc.so.13</c>,
/// then <c>libnvrtc.so.12</c>, then <c>libnvrtc.so</c>, then <c>libnvrtc.so.11.2</c>: NVRTC 11.2 to 11.8, the oldest that
/// targets sm_90; the newest is preferred). CI compiles every kernel with NVRTC 12.4 through these bindings and with 11.8
/// (Debian's <c>libnvrtc11.2</c>) loaded separately by the tests. Each returns the nvrtcResult; <see cref="NvrtcCompiler"/>
/// is the managed way in. Programs are <see cref="nint"/> (nvrtcProgram).
/// </summary>
internal static unsafe partial class Nvrtc
{
    /// <summary>The name the bindings import; the resolver maps it to the loaded library.</summary>
    internal const string LibraryName = "libnvrtc.so.13";

    /// <summary>The environment variable that names the NVRTC library file to load instead of the defaults.</summary>
    internal const string PathVariable = "NCCLEP_NVRTC_PATH";

    private const string MissingHint = "NVRTC (CUDA 11.8, 12 or 13) compiles the Cuda backend's kernels at run time.";

    private static readonly string[] s_candidates = [LibraryName, "libnvrtc.so.12", "libnvrtc.so", "libnvrtc.so.11.2"];
    private static readonly Lock s_lock = new();
    private static nint s_library;

    /// <summary>The loader handle of NVRTC; loads it on first use or throws <see cref="NativeLibraryMissingException"/>.</summary>
    internal static nint LibraryHandle
    {
        get
        {
            nint handle = Volatile.Read(ref s_library);
            return handle != 0 ? handle : Load();
        }
    }

    /// <summary>Loads NVRTC if it is not loaded yet; false with the loader's reason when it cannot be.</summary>
    internal static bool TryLoad(out string reason)
    {
        try
        {
            _ = LibraryHandle;
            reason = string.Empty;
            return true;
        }
        catch (NativeLibraryMissingException e)
        {
            reason = e.Message;
            return false;
        }
    }

    /// <summary>NVRTC's (major, minor) version; loads the library.</summary>
    internal static (int Major, int Minor) GetVersion()
    {
        Check.Nvrtc(nvrtcVersion(out int major, out int minor), "nvrtcVersion", string.Empty);
        return (major, minor);
    }

    /// <summary>NVRTC's text for a status ("NVRTC_ERROR_COMPILATION"), or the enum name when NVRTC is not loaded.</summary>
    internal static string GetErrorString(NvrtcResult status) =>
        Volatile.Read(ref s_library) == 0 ? status.ToString() : Marshal.PtrToStringUTF8((nint)nvrtcGetErrorString(status)) ?? status.ToString();

    private static nint Load()
    {
        lock (s_lock)
        {
            if (s_library == 0)
                Volatile.Write(ref s_library, NativeLibraryLoader.Load(LibraryName, PathVariable, MissingHint, s_candidates));
            return s_library;
        }
    }

    [LibraryImport(LibraryName)]
    internal static partial NvrtcResult nvrtcVersion(out int major, out int minor);

    [LibraryImport(LibraryName)]
    internal static partial byte* nvrtcGetErrorString(NvrtcResult result);

    [LibraryImport(LibraryName)]
    internal static partial NvrtcResult nvrtcCreateProgram(
        out nint program, byte* source, byte* name, int headerCount, byte** headers, byte** includeNames);

    [LibraryImport(LibraryName)]
    internal static partial NvrtcResult nvrtcCompileProgram(nint program, int optionCount, byte** options);

    [LibraryImport(LibraryName)]
    internal static partial NvrtcResult nvrtcDestroyProgram(ref nint program);

    [LibraryImport(LibraryName)]
    internal static partial NvrtcResult nvrtcGetProgramLogSize(nint program, out nuint size);

    [LibraryImport(LibraryName)]
    internal static partial NvrtcResult nvrtcGetProgramLog(nint program, byte* log);

    [LibraryImport(LibraryName)]
    internal static partial NvrtcResult nvrtcGetCUBINSize(nint program, out nuint size);

    [LibraryImport(LibraryName)]
    internal static partial NvrtcResult nvrtcGetCUBIN(nint program, byte* cubin);
}
