using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// Compiles the kernels of one configuration with NVRTC and keeps the cubin on disk, keyed by a hash of
/// the source, the options and the architecture, so a second process starts without compiling.
/// </summary>
internal static class KernelCache
{
    /// <summary>Where cubins go: the option, else NCCLEP_CACHE_DIR, else ~/.cache/ncclep/kernels.</summary>
    public static string Directory(EpGroupOptions options)
    {
        if (!string.IsNullOrEmpty(options.KernelCacheDirectory)) return options.KernelCacheDirectory;
        string? fromEnvironment = Environment.GetEnvironmentVariable("NCCLEP_CACHE_DIR");
        if (!string.IsNullOrEmpty(fromEnvironment)) return fromEnvironment;
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(string.IsNullOrEmpty(home) ? Path.GetTempPath() : home, ".cache", "ncclep", "kernels");
    }

    /// <summary>NVRTC options for a configuration: architecture, layout/mode and the per-config constants (hidden, top-k,
    /// dtype, FP8 recipe, the combine reduction).</summary>
    public static List<string> Options(in EpConfig config, string architecture, string defines)
    {
        var options = new List<string>
        {
            $"--gpu-architecture={architecture}",
            "-std=c++17",
            "--fmad=false",
            "-default-device",
            string.Create(CultureInfo.InvariantCulture, $"-DNCCLEP_HIDDEN={config.Hidden}"),
            string.Create(CultureInfo.InvariantCulture, $"-DNCCLEP_TOPK={config.TopK}"),
            string.Create(CultureInfo.InvariantCulture, $"-DNCCLEP_DTYPE={(config.DataType == EpDataType.BFloat16 ? 0 : 1)}"),
        };
        // Expert-major per-rank combine partials are their own build of the combine (and of the dispatch, which keeps
        // each message's weights for them).
        if (config.CombinesPartials) options.Add("-DNCCLEP_COMBINE_PER_RANK=1");
        // The FP8 dispatch kernel (ncclep_dispatch_fp8) exists only in modules built for a recipe (ep_fp8.cuh).
        if (config.IsDispatchQuantized) options.Add(string.Create(CultureInfo.InvariantCulture, $"-DNCCLEP_QUANT={(int)config.DispatchQuantization}"));
        foreach (string define in defines.Split(' ', StringSplitOptions.RemoveEmptyEntries)) options.Add(define);
        return options;
    }

    /// <summary>The cubin for (source, options): from the cache, or compiled now and stored.</summary>
    public static byte[] GetOrCompile(string source, IReadOnlyList<string> options, string cacheDirectory, out CompileReport report)
    {
        string key = Key(source, options);
        string path = Path.Combine(cacheDirectory, $"ncclep-{key}.cubin");
        if (File.Exists(path))
        {
            report = new CompileReport(key, path, FromCache: true, TimeSpan.Zero);
            return File.ReadAllBytes(path);
        }

        long start = Stopwatch.GetTimestamp();
        byte[] cubin = NvrtcCompiler.Compile(source, "ncclep.cu", options, out _);
        TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
        TryStore(cacheDirectory, path, cubin);
        report = new CompileReport(key, path, FromCache: false, elapsed);
        return cubin;
    }

    /// <summary>SHA-256 over source, options and the NVRTC version (a new compiler never reuses old cubins).</summary>
    public static string Key(string source, IReadOnlyList<string> options)
    {
        var text = new StringBuilder(source.Length + 256);
        text.Append(source).Append('\n');
        foreach (string option in options) text.Append(option).Append('\n');
        text.Append(NvrtcCompiler.VersionString);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..32];
    }

    private static void TryStore(string directory, string path, byte[] cubin)
    {
        try
        {
            System.IO.Directory.CreateDirectory(directory);
            // Write then rename, so a concurrent reader never sees half a file.
            string temporary = $"{path}.{Environment.ProcessId}.tmp";
            File.WriteAllBytes(temporary, cubin);
            File.Move(temporary, path, overwrite: true);
        }
        catch (IOException)
        {
            // A read-only or full cache only costs a recompile next time.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>How a module was obtained: the cache key, the file, and the NVRTC time when compiled now.</summary>
internal sealed record CompileReport(string Key, string Path, bool FromCache, TimeSpan CompileTime);
