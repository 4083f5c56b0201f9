using System;
using System.Collections.Generic;
using NcclEp.Cuda;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// The kernels still compile with NVRTC 11.8, the oldest NVRTC that targets sm_90 (users with CUDA 11.8). CI installs
/// NVRTC 12.4 and 11.8 (.ci/install-nvrtc.sh); the library's loader prefers 12.4, so <see cref="NvrtcKernelTableTests"/>
/// compile with 12.4 and these compile with <c>libnvrtc.so.11.2</c> loaded separately (<see cref="OlderNvrtc"/>): each
/// (mode, layout) of the kernel table with an FP8 recipe, and expert-major with per-rank partials and no recipe, from the
/// library's joined source with the exact options the library passes; and the test experts' kernel the bench and the GPU
/// tests launch (<see cref="GpuAffineExperts"/>). No cache: each run compiles (about 3 s a kernel table build).
/// Skipped, with the reason, where 11.2 cannot be loaded or is the NVRTC the library's loader already uses.
/// </summary>
/// <remarks>
/// An FP8 build is the unquantized build plus the FP8 dispatch kernel (<c>#if NCCLEP_QUANT != 0</c>), so it compiles every
/// kernel the unquantized one does; the per-rank builds keep the option set without <c>-DNCCLEP_QUANT</c> covered. The
/// whole grid of shapes stays with <see cref="NvrtcKernelTableTests"/> on the preferred NVRTC.
/// </remarks>
public sealed class OlderNvrtcCompileTests
{
    /// <summary>Each (mode, layout) of the kernel table with the E4M3 recipe, plus per-rank partials for expert-major.</summary>
    public static TheoryData<EpMode, EpLayout, EpCombineReduction, EpDispatchQuantization> Builds()
    {
        var data = new TheoryData<EpMode, EpLayout, EpCombineReduction, EpDispatchQuantization>();
        foreach ((EpMode mode, EpLayout layout) in EpKernelTable.Specializations)
        {
            data.Add(mode, layout, EpCombineReduction.PerSlot, EpDispatchQuantization.Float8E4M3);
            if (layout == EpLayout.ExpertMajor) data.Add(mode, layout, EpCombineReduction.PerRank, EpDispatchQuantization.None);
        }
        return data;
    }

    [OlderNvrtcTheory]
    [MemberData(nameof(Builds))]
    public void Kernel_table_entry_compiles_for_sm_90_with_nvrtc_11_8(
        EpMode mode, EpLayout layout, EpCombineReduction reduction, EpDispatchQuantization recipe)
    {
        OlderNvrtc nvrtc = OlderNvrtc.Instance.Value.Nvrtc!;
        var config = new EpConfig(mode, 256, 7168, 8, 128, layout) { CombineReduction = reduction, DispatchQuantization = recipe };
        config.Validate(8);
        ReadOnlySpan<EpKernelSpec> specs = EpKernelTable.For(mode, layout);
        Assert.False(specs.IsEmpty, $"the kernel table has no entry for {mode} / {layout}");
        List<string> options = KernelCache.Options(config, NvrtcKernelTableTests.Architecture, specs[0].Defines);

        byte[] cubin = Compile(nvrtc, KernelSource.Text, "ncclep.cu", options);

        var entryPoints = new List<string> { CudaKernelModule.UpdateOffsetsEntryPoint, "ncclep_queue_probe_wait", "ncclep_queue_probe_set" };
        foreach (EpKernelSpec spec in specs)
            if (spec.Op != EpOperation.QuantizedDispatch || recipe != EpDispatchQuantization.None) entryPoints.Add(spec.EntryPoint);
        foreach (string entry in entryPoints)
        {
            Assert.True(NvrtcKernelTableTests.DefinesFunction(cubin, entry),
                $"the {nvrtc.VersionString} sm_90 cubin of {mode} / {layout} ({string.Join(' ', options)}) has no function {entry}");
        }
    }

    [OlderNvrtcTheory]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, EpDataType.BFloat16)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, EpDataType.BFloat16)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, EpDataType.Float32)]
    public void Test_experts_kernel_compiles_for_sm_90_with_nvrtc_11_8(EpMode mode, EpLayout layout, EpDataType type)
    {
        OlderNvrtc nvrtc = OlderNvrtc.Instance.Value.Nvrtc!;
        var config = new EpConfig(mode, 256, 7168, 8, 128, layout, type);
        List<string> options = GpuAffineExperts.Options(config, NvrtcKernelTableTests.Architecture);
        byte[] cubin = Compile(nvrtc, GpuAffineExperts.KernelText, "affine_experts.cu", options);
        Assert.True(NvrtcKernelTableTests.DefinesFunction(cubin, "affine_experts"),
            $"the {nvrtc.VersionString} sm_90 cubin ({string.Join(' ', options)}) has no function affine_experts");
    }

    /// <summary>The cubin, with the NVRTC version, the options and NVRTC's log in the failure message.</summary>
    private static byte[] Compile(OlderNvrtc nvrtc, string source, string name, List<string> options)
    {
        try
        {
            return nvrtc.Compile(source, name, options);
        }
        catch (InvalidOperationException e)
        {
            Assert.Fail($"{nvrtc.VersionString}, options {string.Join(' ', options)}:\n{e.Message}");
            throw;
        }
    }
}

/// <summary>A theory that is skipped, with the reason, where NVRTC 11.8 cannot be loaded beside the library's NVRTC.</summary>
public sealed class OlderNvrtcTheoryAttribute : TheoryAttribute
{
    public OlderNvrtcTheoryAttribute()
    {
        if (OlderNvrtc.Instance.Value.WhyNot is { } why) Skip = why;
    }
}
