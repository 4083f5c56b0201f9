using System;
using System.Linq;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// The experts step between dispatch and combine: on the GPU for the Cuda backend unless <c>--host-experts</c>;
/// the choice is printed with the settings and reaches the processes of <c>--procs</c>; the GPU kernel gets the
/// layout's defines.
/// </summary>
public sealed class BenchExpertsStepTests
{
    [Fact]
    public void Host_experts_is_printed_with_the_settings_and_the_default_prints_nothing_extra()
    {
        Assert.DoesNotContain("experts-step", new BenchOptions().Describe(), StringComparison.Ordinal);
        Assert.EndsWith(" experts-step=host", new BenchOptions { HostExperts = true }.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void Host_experts_reaches_the_child_processes_and_only_when_given()
    {
        var given = new BenchOptions { Procs = 2, HostExperts = true };
        Assert.Contains("--host-experts", ProcsOptions.ChildArguments(given, 0, "file:/tmp/x", "/tmp/r0.json"));
        Assert.DoesNotContain("--host-experts", ProcsOptions.ChildArguments(new BenchOptions { Procs = 2 }, 0, "file:/tmp/x", "/tmp/r0.json"));
    }

    [Theory]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, EpDataType.BFloat16, "-DLAYOUT=0 -DMODE=1 -DDTYPE=0")]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, EpDataType.BFloat16, "-DLAYOUT=1 -DMODE=1 -DDTYPE=0")]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, EpDataType.Float32, "-DLAYOUT=1 -DMODE=0 -DDTYPE=1")]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, EpDataType.BFloat16, "-DLAYOUT=2 -DMODE=0 -DDTYPE=0")]
    public void The_gpu_kernel_is_compiled_for_the_layout_mode_and_type(EpMode mode, EpLayout layout, EpDataType type, string expected)
    {
        var config = new EpConfig(mode, NumExperts: 16, Hidden: 1024, TopK: 6, MaxTokensPerRank: 64, layout, type);
        string[] defines = GpuAffineExperts.Defines(config);
        Assert.Equal(expected, string.Join(' ', defines.Take(3)));
        Assert.Contains("-DHIDDEN=1024", defines);
        Assert.Contains("-DTOPK=6", defines);
        Assert.Contains("--fmad=false", GpuAffineExperts.Options(config, "sm_90"));
        Assert.Contains("--gpu-architecture=sm_90", GpuAffineExperts.Options(config, "sm_90"));
    }

    [Fact]
    public void The_gpu_kernel_source_is_embedded_with_its_entry_point()
    {
        Assert.Contains("affine_experts(", GpuAffineExperts.KernelText, StringComparison.Ordinal);
    }
}
