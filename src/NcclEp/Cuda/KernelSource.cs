using System;
using System.IO;
using System.Reflection;
using System.Text;

namespace NcclEp.Cuda;

/// <summary>The CUDA C++ sources embedded in the assembly, joined into one translation unit for NVRTC.</summary>
internal static class KernelSource
{
    private const string CommonHeader = "ep_common.cuh";
    private static readonly string[] Units = ["ep_update.cu", "ep_dispatch.cu", "ep_combine.cu"];
    private static readonly Lazy<string> Joined = new(Join);

    /// <summary>The header followed by every kernel file, with the local #include lines taken out.</summary>
    public static string Text => Joined.Value;

    private static string Join()
    {
        var sb = new StringBuilder();
        sb.AppendLine(Read(CommonHeader).Replace("#pragma once", string.Empty, StringComparison.Ordinal));
        foreach (string unit in Units)
            sb.AppendLine(Read(unit).Replace($"#include \"{CommonHeader}\"", string.Empty, StringComparison.Ordinal));
        return sb.ToString();
    }

    private static string Read(string name)
    {
        Assembly assembly = typeof(KernelSource).Assembly;
        using Stream stream = assembly.GetManifestResourceStream($"NcclEp.Kernels.{name}")
            ?? throw new InvalidOperationException($"Kernel source {name} is not embedded in {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
