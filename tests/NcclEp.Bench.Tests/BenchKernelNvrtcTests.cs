using System;
using System.IO;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// The bench's GPU experts (the shared test experts' kernel, tests/NcclEp.Testing/Experts/Kernels/affine_experts.cu, that
/// <c>GpuExpertsStep</c> launches) compiled for sm_90 by NVRTC with the options the bench passes
/// (<see cref="GpuAffineExperts.Options"/>), through the library's kernel cache, for
/// every layout and mode the bench runs and both ends of the accepted hidden and top-k range. No GPU needed; skipped
/// with the loader's reason where no NVRTC loads. CI installs NVRTC 12.4, which the loader prefers, and 11.8 (.ci/run),
/// so this compiles with 12.4. The cache is keyed by the exact source, options and NVRTC version and stores only
/// successes, so a changed kernel compiles again.
/// </summary>
public sealed class BenchKernelNvrtcTests
{
    [BenchNvrtcTheory]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, EpDataType.BFloat16, 7168, 8)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, EpDataType.BFloat16, 7168, 8)]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, EpDataType.BFloat16, 2048, 4)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, EpDataType.Float32, 1024, 22)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, EpDataType.Float32, EpConfig.MinHidden, 1)]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, EpDataType.BFloat16, EpConfig.MaxHidden, EpConfig.MaxTopK)]
    public void Affine_experts_compile_for_sm_90_with_the_benchs_options(EpMode mode, EpLayout layout, EpDataType type, int hidden, int topK)
    {
        var config = new EpConfig(mode, 256, hidden, topK, 128, layout, type);
        var options = GpuAffineExperts.Options(config, "sm_90");
        string cache = Path.Combine(Path.GetTempPath(), "ncclep-test-kernels");

        byte[] cubin = BenchTestAccess.Compile(GpuAffineExperts.KernelText, options, cache);

        // The function the bench looks up has its code section in the image.
        Assert.True(cubin.AsSpan().IndexOf(".text.affine_experts\0"u8) >= 0,
            $"the sm_90 cubin ({string.Join(' ', options)}) has no function affine_experts");
    }
}

/// <summary>A theory that is skipped, with the loader's reason, where no NVRTC can be loaded.</summary>
public sealed class BenchNvrtcTheoryAttribute : TheoryAttribute
{
    private static readonly Lazy<string?> WhyNot = new(() =>
        BenchTestAccess.TryLoadNvrtc(out string reason)
            ? null
            : $"no NVRTC could be loaded, so the bench's kernel was not compiled ({InstallStatus}): {reason}");

    /// <summary>What .ci/run's NVRTC install said (it exports its line), or where CI gets NVRTC.</summary>
    private static string InstallStatus =>
        Environment.GetEnvironmentVariable("NCCLEP_CI_NVRTC_STATUS") is { Length: > 0 } status
            ? status
            : "CI installs NVRTC 12.4, which the loader prefers, and 11.8: .ci/install-nvrtc.sh";

    public BenchNvrtcTheoryAttribute()
    {
        if (WhyNot.Value is not null) Skip = WhyNot.Value;
    }
}
