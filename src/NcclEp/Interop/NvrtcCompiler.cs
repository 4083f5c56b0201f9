using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace NcclEp.Interop;

/// <summary>What NVRTC should hand back.</summary>
internal enum NvrtcOutput
{
    /// <summary>A CUBIN for one real architecture; the options must name it (<c>--gpu-architecture=sm_90</c>).</summary>
    Cubin = 0,

    /// <summary>NUL-terminated PTX text (for a virtual architecture such as <c>compute_90</c>).</summary>
    Ptx = 1,
}

/// <summary>
/// Compiles CUDA C++ with NVRTC (control path; allocates). Failure of any step throws
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

    /// <summary>Compiles <paramref name="source"/> to a CUBIN; <paramref name="log"/> gets the log (warnings) on success.</summary>
    public static byte[] Compile(string source, string name, IReadOnlyList<string> options, out string log) =>
        Compile(source, name, options, [], [], NvrtcOutput.Cubin, out log, out _);

    /// <summary>
    /// Compiles with in-memory headers (include name → content) and name expressions (e.g. template
    /// instantiations <c>"kernel&lt;128&gt;"</c>), whose mangled names come back in <paramref name="loweredNames"/>.
    /// </summary>
    public static byte[] Compile(
        string source,
        string name,
        IReadOnlyList<string> options,
        IReadOnlyList<KeyValuePair<string, string>> headers,
        IReadOnlyList<string> nameExpressions,
        NvrtcOutput output,
        out string log,
        out IReadOnlyDictionary<string, string> loweredNames)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(nameExpressions);

        var headerContents = new string[headers.Count];
        var headerNames = new string[headers.Count];
        for (int i = 0; i < headers.Count; i++)
        {
            headerNames[i] = headers[i].Key;
            headerContents[i] = headers[i].Value;
        }

        using var sourceUtf8 = new NativeUtf8Strings([source, name]);
        using var contents = new NativeUtf8Strings(headerContents);
        using var includeNames = new NativeUtf8Strings(headerNames);
        using var optionsUtf8 = new NativeUtf8Strings(options);
        using var expressions = new NativeUtf8Strings(nameExpressions);

        Check.Nvrtc(
            Nvrtc.nvrtcCreateProgram(out nint program, sourceUtf8[0], sourceUtf8[1], contents.Count, contents.Pointers, includeNames.Pointers),
            "nvrtcCreateProgram",
            name);
        try
        {
            for (int i = 0; i < expressions.Count; i++)
            {
                Check.Nvrtc(Nvrtc.nvrtcAddNameExpression(program, expressions[i]), "nvrtcAddNameExpression", name);
            }

            NvrtcResult compiled = Nvrtc.nvrtcCompileProgram(program, optionsUtf8.Count, optionsUtf8.Pointers);
            log = ReadLog(program, name);
            Check.Nvrtc(compiled, "nvrtcCompileProgram", name, log);

            var lowered = new Dictionary<string, string>(expressions.Count, StringComparer.Ordinal);
            for (int i = 0; i < expressions.Count; i++)
            {
                Check.Nvrtc(Nvrtc.nvrtcGetLoweredName(program, expressions[i], out byte* mangled), "nvrtcGetLoweredName", name, log);
                lowered[nameExpressions[i]] = Marshal.PtrToStringUTF8((nint)mangled) ?? string.Empty;
            }

            loweredNames = lowered;
            return output == NvrtcOutput.Cubin ? ReadCubin(program, name, log) : ReadPtx(program, name, log);
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

    private static byte[] ReadPtx(nint program, string name, string log)
    {
        Check.Nvrtc(Nvrtc.nvrtcGetPTXSize(program, out nuint size), "nvrtcGetPTXSize", name, log);
        var ptx = new byte[size];
        fixed (byte* p = ptx)
        {
            Check.Nvrtc(Nvrtc.nvrtcGetPTX(program, p), "nvrtcGetPTX", name, log);
        }

        return ptx;
    }
}
