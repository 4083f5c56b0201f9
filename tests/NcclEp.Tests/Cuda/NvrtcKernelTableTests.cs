using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using NcclEp.Cuda;
using NcclEp.Interop;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// Every entry of the generated kernel table (<c>EpKernelTable</c>: each (mode, layout) the launch stubs run) compiled
/// for sm_90 by NVRTC, no GPU needed, through the library's own path: the joined source, <see cref="KernelCache.Options"/>
/// with the table's defines (what <see cref="CudaKernelModule"/> passes) and <see cref="KernelCache.GetOrCompile"/>. CI
/// installs NVRTC 12.4 and 11.8 (.ci/install-nvrtc.sh); the library's loader prefers 12.4 (<c>libnvrtc.so.12</c>), so
/// these compile with 12.4 and <see cref="OlderNvrtcCompileTests"/> check 11.8 beside it. A kernel change that does not
/// compile fails here before any GPU time is spent. Unlike <see cref="KernelSyntaxTests"/> (host g++ against a shim)
/// this is the real compiler: PTX, inline assembly, ptxas. Without NVRTC every case is skipped with the loader's reason.
/// </summary>
/// <remarks>
/// The cubins go to the on-disk kernel cache, keyed by SHA-256 of the exact source, options and NVRTC version, and only
/// a successful compile is stored: a changed kernel, option or compiler compiles again, and a failure always does. So a
/// second run on the same machine re-reads what that compiler made of that source (CI machines start empty). The
/// cases of a theory run one after the other.
/// </remarks>
public sealed class NvrtcKernelTableTests
{
    /// <summary>The real architecture the compiles target: H100/H200, the oldest the kernels are written for.</summary>
    internal const string Architecture = "sm_90";

    /// <summary>
    /// Per element type, hidden sizes and top-k across the accepted range (<see cref="EpConfig"/>): bf16 at the usual
    /// shape and the smallest, fp32 at an odd top-k and the largest; then each FP8 recipe (whose modules add the FP8
    /// dispatch kernel), at the usual shape, the smallest hidden, fp32 rows with an odd top-k and an odd group count, and
    /// the largest; every (mode, layout) gets all of them.
    /// </summary>
    private static readonly (EpDataType Type, int Hidden, int TopK, EpDispatchQuantization Recipe)[] Shapes =
    [
        (EpDataType.BFloat16, 7168, 8, EpDispatchQuantization.None),
        (EpDataType.BFloat16, EpConfig.MinHidden, 1, EpDispatchQuantization.None),
        (EpDataType.Float32, 2048, 22, EpDispatchQuantization.None),
        (EpDataType.Float32, EpConfig.MaxHidden, EpConfig.MaxTopK, EpDispatchQuantization.None),
        (EpDataType.BFloat16, 7168, 8, EpDispatchQuantization.Float8E4M3),
        (EpDataType.BFloat16, EpConfig.MinHidden, 1, EpDispatchQuantization.Float8E4M3UE8M0),
        (EpDataType.Float32, 1152, 9, EpDispatchQuantization.Float8E4M3PowerOfTwo),
        (EpDataType.BFloat16, EpConfig.MaxHidden, EpConfig.MaxTopK, EpDispatchQuantization.Float8E4M3),
    ];

    /// <summary>Where the tests keep their cubins (see the remarks).</summary>
    internal static string CacheDirectory => Path.Combine(Path.GetTempPath(), "ncclep-test-kernels");

    /// <summary>
    /// Each (mode, layout) of the kernel table × <see cref="Shapes"/>; expert-major also builds with per-rank partials
    /// (<c>-DNCCLEP_COMBINE_PER_RANK=1</c>), over the unquantized shapes and the usual FP8 one (a module with both).
    /// </summary>
    public static TheoryData<EpMode, EpLayout, EpCombineReduction, EpDataType, int, int, EpDispatchQuantization> Entries()
    {
        var data = new TheoryData<EpMode, EpLayout, EpCombineReduction, EpDataType, int, int, EpDispatchQuantization>();
        foreach ((EpMode mode, EpLayout layout) in EpKernelTable.Specializations)
        {
            foreach (EpCombineReduction reduction in Enum.GetValues<EpCombineReduction>())
            {
                if (reduction == EpCombineReduction.PerRank && layout != EpLayout.ExpertMajor) continue;
                for (int i = 0; i < Shapes.Length; i++)
                {
                    (EpDataType type, int hidden, int topK, EpDispatchQuantization recipe) = Shapes[i];
                    bool withPartials = recipe == EpDispatchQuantization.None || (i > 0 && Shapes[i - 1].Recipe == EpDispatchQuantization.None);
                    if (reduction == EpCombineReduction.PerRank && !withPartials) continue;
                    data.Add(mode, layout, reduction, type, hidden, topK, recipe);
                }
            }
        }
        return data;
    }

    [NvrtcTheory]
    [MemberData(nameof(Entries))]
    public void Kernel_table_entry_compiles_for_sm_90_and_defines_every_entry_point(
        EpMode mode, EpLayout layout, EpCombineReduction reduction, EpDataType type, int hidden, int topK, EpDispatchQuantization recipe)
    {
        var config = new EpConfig(mode, 256, hidden, topK, 128, layout, type) { CombineReduction = reduction, DispatchQuantization = recipe };
        config.Validate(8);
        ReadOnlySpan<EpKernelSpec> specs = EpKernelTable.For(mode, layout);
        Assert.False(specs.IsEmpty, $"the kernel table has no entry for {mode} / {layout}");
        List<string> options = KernelCache.Options(config, Architecture, specs[0].Defines);
        Assert.Equal(reduction == EpCombineReduction.PerRank, options.Contains("-DNCCLEP_COMBINE_PER_RANK=1"));

        byte[] cubin = Compile(KernelSource.Text, options);

        var entryPoints = new List<string> { CudaKernelModule.UpdateOffsetsEntryPoint, "ncclep_queue_probe_wait", "ncclep_queue_probe_set" };
        bool hasQuantized = false;
        foreach (EpKernelSpec spec in specs)
        {
            if (spec.Op != EpOperation.QuantizedDispatch) entryPoints.Add(spec.EntryPoint);
            else if (recipe != EpDispatchQuantization.None) entryPoints.Add(spec.EntryPoint);
            else Assert.False(DefinesFunction(cubin, spec.EntryPoint), $"a module without an FP8 recipe has {spec.EntryPoint}");
            hasQuantized |= spec.Op == EpOperation.QuantizedDispatch;
        }
        Assert.True(hasQuantized, $"the kernel table of {mode} / {layout} has no FP8 dispatch");
        foreach (string entry in entryPoints)
            Assert.True(DefinesFunction(cubin, entry), $"the sm_90 cubin of {mode} / {layout} ({string.Join(' ', options)}) has no function {entry}");
    }

    [NvrtcFact]
    public void Debugging_block_timeline_build_compiles_for_sm_90()
    {
        // The NCCLEP_BLOCK_TIMELINE switch (ep_common.cuh) adds code the table's builds never compile.
        var config = new EpConfig(EpMode.HighThroughput, 256, 4096, 8, 128, EpLayout.Flat);
        List<string> options = KernelCache.Options(config, Architecture, EpKernelTable.For(config.Mode, config.Layout)[0].Defines);
        options.Add("-DNCCLEP_BLOCK_TIMELINE=1");
        Assert.True(DefinesFunction(Compile(KernelSource.Text, options), "ncclep_dispatch"));
    }

    [NvrtcTheory]
    [InlineData(EpLayout.RankMajor, "-DNCCLEP_WARP_JOBS=0")]
    [InlineData(EpLayout.ExpertMajor, "-DNCCLEP_WARP_JOBS=0")]
    [InlineData(EpLayout.RankMajor, "-DLL_TEAM_WARPS=1")]
    [InlineData(EpLayout.ExpertMajor, "-DLL_TEAM_WARPS=1")]
    public void Low_latency_job_variants_compile_for_sm_90(EpLayout layout, string define)
    {
        // -DNCCLEP_WARP_JOBS=0 (ep_common.cuh) keeps low-latency mode's block jobs, -DLL_TEAM_WARPS=1 teams of one warp, to
        // time them beside the default (scripts/kernel-variant.sh, gpu-ll-sizing.sh): builds the kernel table never makes.
        var config = new EpConfig(EpMode.LowLatency, 256, 7168, 8, 128, layout);
        List<string> options = KernelCache.Options(config, Architecture, EpKernelTable.For(config.Mode, config.Layout)[0].Defines);
        options.Add(define);
        byte[] cubin = Compile(KernelSource.Text, options);
        Assert.True(DefinesFunction(cubin, "ncclep_dispatch"));
        Assert.True(DefinesFunction(cubin, "ncclep_combine"));
    }

    [NvrtcTheory]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor)]
    public void Kernels_compile_for_sm_80_too(EpMode mode, EpLayout layout)
    {
        // The kernels serve sm_70 and newer (CudaDevice); sm_90-only instructions (griddepcontrol) must stay behind
        // __CUDA_ARCH__, or every A100 group fails at creation while the sm_90 table above still compiles.
        var config = new EpConfig(mode, 256, 7168, 8, 128, layout);
        List<string> options = KernelCache.Options(config, "sm_80", EpKernelTable.For(config.Mode, config.Layout)[0].Defines);
        byte[] cubin = Compile(KernelSource.Text, options);
        Assert.True(DefinesFunction(cubin, "ncclep_dispatch"));
        Assert.True(DefinesFunction(cubin, "ncclep_combine"));
    }

    [Fact]
    public void Function_check_finds_only_functions_the_image_defines()
    {
        // The check the cases rely on: a code section named exactly, not a prefix of another function's name.
        byte[] image = Encoding.ASCII.GetBytes("\0.text.ncclep_update_offsets\0.nv.info.ncclep_dispatch\0");
        Assert.True(DefinesFunction(image, "ncclep_update_offsets"));
        Assert.False(DefinesFunction(image, "ncclep_update"));
        Assert.False(DefinesFunction(image, "ncclep_dispatch"));
    }

    /// <summary>The cubin from the kernel cache or NVRTC, with NVRTC's log and the options in the failure message.</summary>
    private static byte[] Compile(string source, IReadOnlyList<string> options)
    {
        try
        {
            return KernelCache.GetOrCompile(source, options, CacheDirectory, out _);
        }
        catch (NvrtcCompileException e)
        {
            Assert.Fail($"{NvrtcCompiler.VersionString}, options {string.Join(' ', options)}:\n{e.Message}");
            throw;
        }
    }

    /// <summary>Whether the ELF image has the code section of <paramref name="function"/> (".text.NAME"): it is defined there.</summary>
    internal static bool DefinesFunction(byte[] cubin, string function) =>
        cubin.AsSpan().IndexOf(Encoding.ASCII.GetBytes($".text.{function}\0")) >= 0;
}

/// <summary>A theory that is skipped, with the loader's reason, where no NVRTC can be loaded.</summary>
public sealed class NvrtcTheoryAttribute : TheoryAttribute
{
    public NvrtcTheoryAttribute() => Skip = NvrtcAvailability.WhyNot.Value;
}

/// <summary>A fact that is skipped, with the loader's reason, where no NVRTC can be loaded.</summary>
public sealed class NvrtcFactAttribute : FactAttribute
{
    public NvrtcFactAttribute() => Skip = NvrtcAvailability.WhyNot.Value;
}

internal static class NvrtcAvailability
{
    /// <summary>Null where NVRTC loads, else why the compiles are skipped.</summary>
    public static readonly Lazy<string?> WhyNot = new(() => Nvrtc.TryLoad(out string reason)
        ? null
        : $"no NVRTC could be loaded, so the kernels were not compiled ({InstallStatus()}): {reason}");

    /// <summary>What .ci/run's NVRTC install said (it exports its line), or where CI gets NVRTC.</summary>
    internal static string InstallStatus() =>
        Environment.GetEnvironmentVariable("NCCLEP_CI_NVRTC_STATUS") is { Length: > 0 } status
            ? status
            : "CI installs NVRTC 12.4, which the loader prefers, and 11.8: see .ci/install-nvrtc.sh";
}
