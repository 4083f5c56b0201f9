using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace NcclEp.Interop;

/// <summary>
/// NVRTC resolved at run time: the file named by <c>NCCLEP_NVRTC_PATH</c>, else <c>libnvrtc.so.13</c>, then
/// <c>libnvrtc.so.12</c>, then <c>libnvrtc.so</c>, then <c>libnvrtc.so.11.2</c> (the soname of NVRTC 11.2 to 11.8, the
/// oldest that targets sm_90: Debian's <c>libnvrtc11.2</c>, which CI compiles every kernel with; the newest is
/// preferred). Raw calls under their C names return the nvrtcResult;
/// <see cref="NvrtcCompiler"/> is the managed way in. Programs are <see cref="nint"/> (nvrtcProgram).
/// </summary>
internal static unsafe class Nvrtc
{
    /// <summary>The environment variable that names the NVRTC library file to load instead of the defaults.</summary>
    internal const string PathVariable = "NCCLEP_NVRTC_PATH";

    private const string MissingHint = "NVRTC (CUDA 11.8, 12 or 13) compiles the Cuda backend's kernels at run time.";

    private static readonly string[] s_candidates = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so", "libnvrtc.so.11.2"];
    private static readonly Lock s_lock = new();
    private static Table? s_table;

    /// <summary>NVRTC's (major, minor) version; loads the library.</summary>
    internal static (int Major, int Minor) GetVersion()
    {
        int major;
        int minor;
        Check.Nvrtc(Api.Version(&major, &minor), "nvrtcVersion", string.Empty);
        return (major, minor);
    }

    /// <summary>Loads NVRTC if needed; false with a reason when it cannot be.</summary>
    internal static bool TryLoad(out string reason) => NativeLibraryLoader.TryResolve(() => Api, out reason);

    /// <summary>NVRTC's text for a status ("NVRTC_ERROR_COMPILATION"), or the enum name when NVRTC is not loaded.</summary>
    internal static string GetErrorString(NvrtcResult status)
    {
        Table? table = Volatile.Read(ref s_table);
        return table is null ? status.ToString() : Marshal.PtrToStringUTF8((nint)table.GetErrorString(status)) ?? status.ToString();
    }

    internal static NvrtcResult nvrtcCreateProgram(
        out nint program, byte* source, byte* name, int headerCount, byte** headers, byte** includeNames)
    {
        fixed (nint* p = &program)
        {
            return Api.CreateProgram(p, source, name, headerCount, headers, includeNames);
        }
    }

    internal static NvrtcResult nvrtcCompileProgram(nint program, int optionCount, byte** options) =>
        Api.CompileProgram(program, optionCount, options);

    internal static NvrtcResult nvrtcDestroyProgram(ref nint program)
    {
        fixed (nint* p = &program)
        {
            return Api.DestroyProgram(p);
        }
    }

    internal static NvrtcResult nvrtcGetProgramLogSize(nint program, out nuint size)
    {
        fixed (nuint* p = &size)
        {
            return Api.GetProgramLogSize(program, p);
        }
    }

    internal static NvrtcResult nvrtcGetProgramLog(nint program, byte* log) => Api.GetProgramLog(program, log);

    internal static NvrtcResult nvrtcGetCUBINSize(nint program, out nuint size)
    {
        fixed (nuint* p = &size)
        {
            return Api.GetCubinSize(program, p);
        }
    }

    internal static NvrtcResult nvrtcGetCUBIN(nint program, byte* cubin) => Api.GetCubin(program, cubin);

    internal static NvrtcResult nvrtcGetPTXSize(nint program, out nuint size)
    {
        fixed (nuint* p = &size)
        {
            return Api.GetPtxSize(program, p);
        }
    }

    internal static NvrtcResult nvrtcGetPTX(nint program, byte* ptx) => Api.GetPtx(program, ptx);

    internal static NvrtcResult nvrtcAddNameExpression(nint program, byte* nameExpression) =>
        Api.AddNameExpression(program, nameExpression);

    /// <summary>The mangled name of a name expression; the string is owned by the program (valid until it is destroyed).</summary>
    internal static NvrtcResult nvrtcGetLoweredName(nint program, byte* nameExpression, out byte* loweredName)
    {
        fixed (byte** p = &loweredName)
        {
            return Api.GetLoweredName(program, nameExpression, p);
        }
    }

    private static Table Api
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref s_table) ?? Load();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Table Load()
    {
        lock (s_lock)
        {
            Table? table = s_table;
            if (table is null)
            {
                table = new Table(NativeLibraryLoader.Load("libnvrtc.so.13", PathVariable, MissingHint, s_candidates));
                Volatile.Write(ref s_table, table);
            }

            return table;
        }
    }

    private sealed class Table(nint library)
    {
        public readonly delegate* unmanaged<int*, int*, NvrtcResult> Version =
            (delegate* unmanaged<int*, int*, NvrtcResult>)NativeLibrary.GetExport(library, "nvrtcVersion");

        public readonly delegate* unmanaged<NvrtcResult, byte*> GetErrorString =
            (delegate* unmanaged<NvrtcResult, byte*>)NativeLibrary.GetExport(library, "nvrtcGetErrorString");

        public readonly delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, NvrtcResult> CreateProgram =
            (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, NvrtcResult>)NativeLibrary.GetExport(library, "nvrtcCreateProgram");

        public readonly delegate* unmanaged<nint, int, byte**, NvrtcResult> CompileProgram =
            (delegate* unmanaged<nint, int, byte**, NvrtcResult>)NativeLibrary.GetExport(library, "nvrtcCompileProgram");

        public readonly delegate* unmanaged<nint*, NvrtcResult> DestroyProgram =
            (delegate* unmanaged<nint*, NvrtcResult>)NativeLibrary.GetExport(library, "nvrtcDestroyProgram");

        public readonly delegate* unmanaged<nint, nuint*, NvrtcResult> GetProgramLogSize =
            (delegate* unmanaged<nint, nuint*, NvrtcResult>)NativeLibrary.GetExport(library, "nvrtcGetProgramLogSize");

        public readonly delegate* unmanaged<nint, byte*, NvrtcResult> GetProgramLog =
            (delegate* unmanaged<nint, byte*, NvrtcResult>)NativeLibrary.GetExport(library, "nvrtcGetProgramLog");

        public readonly delegate* unmanaged<nint, nuint*, NvrtcResult> GetCubinSize =
            (delegate* unmanaged<nint, nuint*, NvrtcResult>)NativeLibrary.GetExport(library, "nvrtcGetCUBINSize");

        public readonly delegate* unmanaged<nint, byte*, NvrtcResult> GetCubin =
            (delegate* unmanaged<nint, byte*, NvrtcResult>)NativeLibrary.GetExport(library, "nvrtcGetCUBIN");

        public readonly delegate* unmanaged<nint, nuint*, NvrtcResult> GetPtxSize =
            (delegate* unmanaged<nint, nuint*, NvrtcResult>)NativeLibrary.GetExport(library, "nvrtcGetPTXSize");

        public readonly delegate* unmanaged<nint, byte*, NvrtcResult> GetPtx =
            (delegate* unmanaged<nint, byte*, NvrtcResult>)NativeLibrary.GetExport(library, "nvrtcGetPTX");

        public readonly delegate* unmanaged<nint, byte*, NvrtcResult> AddNameExpression =
            (delegate* unmanaged<nint, byte*, NvrtcResult>)NativeLibrary.GetExport(library, "nvrtcAddNameExpression");

        public readonly delegate* unmanaged<nint, byte*, byte**, NvrtcResult> GetLoweredName =
            (delegate* unmanaged<nint, byte*, byte**, NvrtcResult>)NativeLibrary.GetExport(library, "nvrtcGetLoweredName");
    }
}
