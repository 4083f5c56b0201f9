using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;
using NcclEp.Interop;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// NVRTC 11.8 (<c>libnvrtc.so.11.2</c>, Debian's <c>libnvrtc11.2</c>: the oldest NVRTC that targets sm_90, what a user
/// with CUDA 11.8 has) loaded beside the one the library's loader picked, through its own handle and unmanaged function
/// pointers, so the kernels are compiled with both in one process. <see cref="Nvrtc"/> prefers the newest
/// (<c>libnvrtc.so.12</c> where CI installs 12.4), so without this handle 11.8 would never compile anything in CI.
/// </summary>
internal sealed unsafe class OlderNvrtc
{
    /// <summary>The soname Debian's libnvrtc11.2 (and CUDA 11.2 to 11.8) installs.</summary>
    internal const string Soname = "libnvrtc.so.11.2";

    private readonly delegate* unmanaged<int*, int*, int> _version;
    private readonly delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int> _createProgram;
    private readonly delegate* unmanaged<nint, int, byte**, int> _compileProgram;
    private readonly delegate* unmanaged<nint, nuint*, int> _getProgramLogSize;
    private readonly delegate* unmanaged<nint, byte*, int> _getProgramLog;
    private readonly delegate* unmanaged<nint, nuint*, int> _getCubinSize;
    private readonly delegate* unmanaged<nint, byte*, int> _getCubin;
    private readonly delegate* unmanaged<nint*, int> _destroyProgram;

    private OlderNvrtc(nint library)
    {
        _version = (delegate* unmanaged<int*, int*, int>)NativeLibrary.GetExport(library, "nvrtcVersion");
        _createProgram = (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int>)NativeLibrary.GetExport(library, "nvrtcCreateProgram");
        _compileProgram = (delegate* unmanaged<nint, int, byte**, int>)NativeLibrary.GetExport(library, "nvrtcCompileProgram");
        _getProgramLogSize = (delegate* unmanaged<nint, nuint*, int>)NativeLibrary.GetExport(library, "nvrtcGetProgramLogSize");
        _getProgramLog = (delegate* unmanaged<nint, byte*, int>)NativeLibrary.GetExport(library, "nvrtcGetProgramLog");
        _getCubinSize = (delegate* unmanaged<nint, nuint*, int>)NativeLibrary.GetExport(library, "nvrtcGetCUBINSize");
        _getCubin = (delegate* unmanaged<nint, byte*, int>)NativeLibrary.GetExport(library, "nvrtcGetCUBIN");
        _destroyProgram = (delegate* unmanaged<nint*, int>)NativeLibrary.GetExport(library, "nvrtcDestroyProgram");
    }

    /// <summary>NVRTC 11.x loaded separately, or null with why the 11.8 compiles are skipped.</summary>
    internal static readonly Lazy<(OlderNvrtc? Nvrtc, string? WhyNot)> Instance = new(Load);

    /// <summary>"NVRTC 11.8".</summary>
    internal string VersionString
    {
        get
        {
            int major, minor;
            Check(_version(&major, &minor), "nvrtcVersion", string.Empty);
            return $"NVRTC {major}.{minor}";
        }
    }

    /// <summary>The cubin NVRTC 11.x makes of <paramref name="source"/>; a failed step throws with the compile log.</summary>
    internal byte[] Compile(string source, string name, IReadOnlyList<string> options)
    {
        using var texts = new NativeUtf8Strings([source, name]);
        using var optionTexts = new NativeUtf8Strings(options);
        nint program;
        Check(_createProgram(&program, texts[0], texts[1], 0, null, null), "nvrtcCreateProgram", string.Empty);
        try
        {
            int compiled = _compileProgram(program, optionTexts.Count, optionTexts.Pointers);
            string log = Log(program);
            Check(compiled, "nvrtcCompileProgram", log);
            nuint size;
            Check(_getCubinSize(program, &size), "nvrtcGetCUBINSize", log);
            if (size == 0) throw new InvalidOperationException($"{VersionString} made an empty cubin of {name}:\n{log}");
            var cubin = new byte[size];
            fixed (byte* p = cubin) Check(_getCubin(program, p), "nvrtcGetCUBIN", log);
            return cubin;
        }
        finally
        {
            _ = _destroyProgram(&program);
        }
    }

    private static (OlderNvrtc?, string?) Load()
    {
        if (!NativeLibrary.TryLoad(Soname, out nint library))
        {
            return (null, $"{Soname} (NVRTC 11.8) is not installed or cannot be loaded, so the kernels were not compiled with " +
                $"the oldest NVRTC that targets sm_90 ({NvrtcAvailability.InstallStatus()})");
        }
        var older = new OlderNvrtc(library);
        string version = older.VersionString;
        if (!version.StartsWith("NVRTC 11.", StringComparison.Ordinal))
            return (null, $"{Soname} reports {version}, not NVRTC 11.x");
        // Where the library's loader itself found 11.x (no libnvrtc.so.12 or .13), NvrtcKernelTableTests already compile with it.
        if (Nvrtc.TryLoad(out _) && NvrtcCompiler.VersionString.StartsWith("NVRTC 11.", StringComparison.Ordinal))
            return (null, $"the library's NVRTC loader already uses {NvrtcCompiler.VersionString}, so NvrtcKernelTableTests compile every kernel with it");
        return (older, null);
    }

    private static void Check(int status, string step, string log)
    {
        if (status != 0)
            throw new InvalidOperationException($"{step} of {Soname} failed with nvrtcResult {status}{(log.Length > 0 ? ":\n" + log : string.Empty)}");
    }

    private string Log(nint program)
    {
        nuint size;
        Check(_getProgramLogSize(program, &size), "nvrtcGetProgramLogSize", string.Empty);
        if (size <= 1) return string.Empty;
        var log = new byte[size];
        fixed (byte* p = log) Check(_getProgramLog(program, p), "nvrtcGetProgramLog", string.Empty);
        return Encoding.UTF8.GetString(log, 0, log.Length - 1).TrimEnd();
    }
}
