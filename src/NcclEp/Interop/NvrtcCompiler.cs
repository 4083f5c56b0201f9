using System;
using System.Collections.Generic;

namespace NcclEp.Interop;

/// <summary>
/// Compiles CUDA C++ to a CUBIN with NVRTC (control path; allocates). Failure of any step throws
/// <see cref="NvrtcCompileException"/> carrying the whole compiler log.
/// </summary>
internal static unsafe class NvrtcCompiler
{
    private static string? s_versionString;

    /// <summary>"NVRTC 13.0": the loaded compiler's version, for cache keys (loads NVRTC on first use).</summary>
    public static string VersionString
    {
        get
        {
            if (s_versionString is null)
            {
                (int major, int minor) = Nvrtc.GetVersion();
                s_versionString = $"NVRTC {major}.{minor}";
            }

            return s_versionString;
        }
    }

    /// <summary>
    /// Compiles <paramref name="source"/> to a CUBIN for the real architecture the options name
    /// (<c>--gpu-architecture=sm_90</c>); <paramref name="log"/> gets the log (warnings) on success.
    /// </summary>
    public static byte[] Compile(string source, string name, IReadOnlyList<string> options, out string log)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);

        using var sourceUtf8 = new NativeUtf8Strings([source, name]);
        using var optionsUtf8 = new NativeUtf8Strings(options);
        Check.Nvrtc(Nvrtc.nvrtcCreateProgram(out nint program, sourceUtf8[0], sourceUtf8[1], 0, null, null), "nvrtcCreateProgram", name);
        try
        {
            NvrtcResult compiled = Nvrtc.nvrtcCompileProgram(program, optionsUtf8.Count, optionsUtf8.Pointers);
            log = ReadLog(program, name);
            Check.Nvrtc(compiled, "nvrtcCompileProgram", name, log);
            return ReadCubin(program, name, log);
        }
        finally
        {
            _ = Nvrtc.nvrtcDestroyProgram(ref program);
        }
    }

    private static string ReadLog(nint program, string name)
    {
        Check.Nvrtc(Nvrtc.nvrtcGetProgramLogSize(program, out nuint size), "nvrtcGetProgramLogSize", name);
        if (size <= 1)
        {
            return string.Empty;
        }

        var buffer = new byte[size];
        fixed (byte* p = buffer)
        {
            Check.Nvrtc(Nvrtc.nvrtcGetProgramLog(program, p), "nvrtcGetProgramLog", name);
        }

        return System.Text.Encoding.UTF8.GetString(buffer, 0, buffer.Length - 1).TrimEnd();
    }

    private static byte[] ReadCubin(nint program, string name, string log)
    {
        NvrtcResult status = Nvrtc.nvrtcGetCUBINSize(program, out nuint size);
        if (status == NvrtcResult.Success && size == 0)
        {
            // NVRTC makes no CUBIN for a virtual architecture; say so rather than hand back nothing.
            status = NvrtcResult.ErrorInvalidOption;
            log = $"No CUBIN was produced: pass --gpu-architecture=sm_XX (a real architecture), not compute_XX.{Environment.NewLine}{log}";
        }

        Check.Nvrtc(status, "nvrtcGetCUBINSize", name, log);
        var cubin = new byte[size];
        fixed (byte* p = cubin)
        {
            Check.Nvrtc(Nvrtc.nvrtcGetCUBIN(program, p), "nvrtcGetCUBIN", name, log);
        }

        return cubin;
    }
}
