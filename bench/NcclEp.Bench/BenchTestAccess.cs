using System.Collections.Generic;
using System.Runtime.CompilerServices;
using NcclEp.Cuda;
using NcclEp.Interop;

// The chart and report writers, the option parsing and the byte accounting are tested in tests/NcclEp.PackageTests (Bench*Tests, SvgChartTests).
[assembly: InternalsVisibleTo("NcclEp.Bench.Tests")]

namespace NcclEp.Bench;

/// <summary>The library's NVRTC path for the package tests, which see the bench's internals but not the library's.</summary>
internal static class BenchTestAccess
{
    /// <summary>Loads NVRTC; false with the loader's reason where none can be.</summary>
    public static bool TryLoadNvrtc(out string reason) => Nvrtc.TryLoad(out reason);

    /// <summary>The cubin of <paramref name="source"/>, as the bench's kernels get theirs: the kernel cache, or NVRTC now.</summary>
    public static byte[] Compile(string source, IReadOnlyList<string> options, string cacheDirectory) =>
        KernelCache.GetOrCompile(source, options, cacheDirectory, out _);
}
