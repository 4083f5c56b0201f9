using System;
using System.IO;
using System.Reflection;
using System.Text;

namespace NcclEp.Cuda;

/// <summary>
/// The CUDA C++ sources joined into one translation unit for NVRTC: the ones embedded in the assembly, or, for
/// kernel work on a GPU machine without rebuilding, the files of the directory named by NCCLEP_KERNEL_SOURCE_DIR
/// (a developer option, docs/kernels.md: it says so on stderr, once per process, whenever it is in force).
/// </summary>
internal static class KernelSource
{
    /// <summary>Names a directory holding every kernel file; the embedded sources are not used then.</summary>
    public const string DirectoryVariable = "NCCLEP_KERNEL_SOURCE_DIR";
    private const string CommonHeader = "ep_common.cuh";
    private static readonly string[] Headers = [CommonHeader, "ep_fp8_rule.cuh", "ep_fp8.cuh", "ep_route.cuh", "ep_bulk_ptx.cuh", "ep_bulk.cuh"];
    private static readonly string[] Units = ["ep_update.cu", "ep_dispatch.cu", "ep_dispatch_receive.cu", "ep_forward.cu", "ep_combine.cu", "ep_combine_reduce.cu", "ep_queue_probe.cu"];
    private static readonly Lazy<string> Joined = new(() => Load(Environment.GetEnvironmentVariable(DirectoryVariable), Console.Error));

    /// <summary>The headers followed by every kernel file, with the local #include lines taken out.</summary>
    public static string Text => Joined.Value;

    /// <summary>The directory the kernels come from (NCCLEP_KERNEL_SOURCE_DIR), or null for the embedded ones.</summary>
    public static string? SourceDirectory =>
        Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } directory ? directory : null;

    /// <summary>
    /// The first 16 hex digits of the SHA-256 of <see cref="Text"/>: which kernels a result was measured with (a bench
    /// run records it, so runs of kernel variants side by side stay told apart).
    /// </summary>
    public static string Fingerprint => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Text)))[..16];

    /// <summary>
    /// The joined source of <paramref name="directory"/> (null or empty: the embedded files). Kernels that are not the
    /// shipped ones must never run unnoticed, so a directory is announced on <paramref name="log"/> first.
    /// </summary>
    internal static string Load(string? directory, TextWriter log)
    {
        if (!string.IsNullOrEmpty(directory))
        {
            log.WriteLine($"NcclEp: {DirectoryVariable}={directory}: compiling the kernel files of that directory instead of the ones built into " +
                $"{typeof(KernelSource).Assembly.GetName().Name}.dll (a developer option, docs/kernels.md; unset it to run the shipped kernels).");
        }
        return Join(directory);
    }

    /// <summary>The joined source from <paramref name="directory"/>, or from the embedded files when it is null or empty.</summary>
    internal static string Join(string? directory)
    {
        var sb = new StringBuilder();
        foreach (string header in Headers) sb.AppendLine(WithoutIncludes(Read(header, directory).Replace("#pragma once", string.Empty, StringComparison.Ordinal)));
        foreach (string unit in Units) sb.AppendLine(WithoutIncludes(Read(unit, directory)));
        return sb.ToString();
    }

    /// <summary>The text without its #include lines of the headers (they are joined in front, once).</summary>
    private static string WithoutIncludes(string text)
    {
        foreach (string header in Headers) text = text.Replace($"#include \"{header}\"", string.Empty, StringComparison.Ordinal);
        return text;
    }

    private static string Read(string name, string? directory)
    {
        if (!string.IsNullOrEmpty(directory))
        {
            string path = Path.Combine(directory, name);
            if (!File.Exists(path))
                throw new FileNotFoundException($"{DirectoryVariable} is '{directory}', which has no {name}: it must hold {string.Join(", ", Headers)} and {string.Join(", ", Units)}.", path);
            return File.ReadAllText(path, Encoding.UTF8);
        }
        Assembly assembly = typeof(KernelSource).Assembly;
        using Stream stream = assembly.GetManifestResourceStream($"NcclEp.Kernels.{name}")
            ?? throw new InvalidOperationException($"Kernel source {name} is not embedded in {assembly.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
