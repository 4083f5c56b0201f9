using System;
using System.Collections.Generic;
using System.Text;
using NcclEp.Cuda;
using NcclEp.Interop;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// The high-throughput bulk-copy builds (<c>-DNCCLEP_HT_BULK=sides</c>, ep_bulk.cuh: rows moved by <c>cp.async.bulk</c>
/// through shared memory, issue 21) compiled for sm_90 by NVRTC 12 or newer, which CI installs beside NVRTC 11.8
/// (.ci/install-nvrtc.sh): PTX ISA 8.0 is beyond NVRTC 11.8, so these are skipped, saying so, where only that loads.
/// The builds are variants the kernel table never makes (scripts/gpu-ht-few-sms.sh times them beside the default), so
/// without this a change to the kernels could break them unseen until GPU time is spent.
/// </summary>
public sealed class NvrtcBulkKernelTests
{
    /// <summary>The stages' dynamic shared memory at ep_bulk.cuh's defaults (BULK_STAGES × BULK_STAGE_BYTES).</summary>
    private const int StageBytes = 8 * 4096;

    /// <summary>Every side at each layout and reduction, at the usual shape, an fp32 one and with an FP8 recipe; each side alone.</summary>
    public static TheoryData<EpLayout, EpCombineReduction, EpDataType, int, int, EpDispatchQuantization, int> Builds() => new()
    {
        { EpLayout.Flat, EpCombineReduction.PerSlot, EpDataType.BFloat16, 7168, 8, EpDispatchQuantization.None, 7 },
        { EpLayout.ExpertMajor, EpCombineReduction.PerSlot, EpDataType.BFloat16, 7168, 8, EpDispatchQuantization.None, 7 },
        { EpLayout.ExpertMajor, EpCombineReduction.PerRank, EpDataType.BFloat16, 7168, 8, EpDispatchQuantization.None, 7 },
        { EpLayout.Flat, EpCombineReduction.PerSlot, EpDataType.Float32, 2048, 22, EpDispatchQuantization.None, 7 },
        { EpLayout.Flat, EpCombineReduction.PerSlot, EpDataType.BFloat16, 7168, 8, EpDispatchQuantization.Float8E4M3, 7 },
        { EpLayout.Flat, EpCombineReduction.PerSlot, EpDataType.BFloat16, 7168, 8, EpDispatchQuantization.None, 1 },
        { EpLayout.Flat, EpCombineReduction.PerSlot, EpDataType.BFloat16, 7168, 8, EpDispatchQuantization.None, 2 },
        { EpLayout.Flat, EpCombineReduction.PerSlot, EpDataType.BFloat16, 7168, 8, EpDispatchQuantization.None, 4 },
        { EpLayout.ExpertMajor, EpCombineReduction.PerSlot, EpDataType.BFloat16, 7168, 8, EpDispatchQuantization.None, 2 },
        { EpLayout.ExpertMajor, EpCombineReduction.PerSlot, EpDataType.Float32, 2048, EpConfig.MaxTopK, EpDispatchQuantization.None, 7 },
    };

    [BulkNvrtcTheory]
    [MemberData(nameof(Builds))]
    public void Bulk_copy_build_compiles_for_sm_90_with_the_pipe_in_the_kernels_that_use_it(
        EpLayout layout, EpCombineReduction reduction, EpDataType type, int hidden, int topK, EpDispatchQuantization recipe, int sides)
    {
        var config = new EpConfig(EpMode.HighThroughput, 256, hidden, topK, 128, layout, type) { CombineReduction = reduction, DispatchQuantization = recipe };
        config.Validate(8);
        List<string> options = Options(config, NvrtcKernelTableTests.Architecture);
        options.Add($"-DNCCLEP_HT_BULK={sides}");

        byte[] cubin = Compile(options);

        foreach (EpKernelSpec spec in EpKernelTable.For(config.Mode, config.Layout))
            if (spec.Op != EpOperation.QuantizedDispatch || recipe != EpDispatchQuantization.None)
                Assert.True(Defines(cubin, $".text.{spec.EntryPoint}"), $"the bulk build ({string.Join(' ', options)}) has no function {spec.EntryPoint}");
        // The switch took effect: the module tells the host the stages' bytes (ncclep_bulk_shared_bytes), and a kernel
        // that copies rows in bulk has the pipe's state in its static shared memory, beyond the default build's; no
        // other kernel does (a side whose kernel lacks it silently fell back to the vector copies).
        Assert.Equal(StageBytes, CubinSections.GlobalInt32(cubin, BulkSharedMemory.Symbol));
        List<string> plain = Options(config, NvrtcKernelTableTests.Architecture);
        byte[] reference = Compile(plain);
        bool dispatch = (sides & (1 | 2)) != 0;
        bool combine = (sides & 4) != 0 && reduction == EpCombineReduction.PerSlot;
        Assert.Equal(dispatch, PipeBytes(cubin, reference, "ncclep_dispatch") >= MinPipeBytes);
        Assert.Equal(combine, PipeBytes(cubin, reference, "ncclep_combine") >= MinPipeBytes);
        if (recipe != EpDispatchQuantization.None)  // FP8 rows are quantized by warps: never in bulk
            Assert.True(PipeBytes(cubin, reference, "ncclep_dispatch_fp8") < MinPipeBytes);
    }

    /// <summary>
    /// Less than the pipe's state (BulkPipe: its mbarriers and queues, over 300 bytes) and more than the padding a
    /// build may add before the dynamic shared memory (under 128 bytes).
    /// </summary>
    private const int MinPipeBytes = 256;

    /// <summary>Static shared memory a kernel of the bulk build has beyond the same kernel of the default build.</summary>
    private static long PipeBytes(byte[] bulk, byte[] reference, string kernel) =>
        CubinSections.StaticSharedBytes(bulk, kernel) - CubinSections.StaticSharedBytes(reference, kernel);

    [BulkNvrtcTheory]
    [InlineData(4, 8192)]
    [InlineData(8, 16384)]
    public void Stages_of_a_variant_are_what_the_module_asks_the_host_for(int stages, int stageBytes)
    {
        // scripts/gpu-prepare.sh's stage variants: the launches must get exactly the stages the kernels index.
        var config = new EpConfig(EpMode.HighThroughput, 256, 7168, 8, 128, EpLayout.Flat);
        List<string> options = Options(config, NvrtcKernelTableTests.Architecture);
        options.AddRange(["-DNCCLEP_HT_BULK=7", $"-DBULK_STAGES={stages}", $"-DBULK_STAGE_BYTES={stageBytes}"]);
        Assert.Equal(stages * stageBytes, CubinSections.GlobalInt32(Compile(options), BulkSharedMemory.Symbol));
    }

    [BulkNvrtcTheory]
    [InlineData(EpLayout.ExpertMajor)]
    [InlineData(EpLayout.RankMajor)]
    public void Low_latency_module_of_a_bulk_build_asks_for_no_stages(EpLayout layout)
    {
        // A kernel variant built with the switch (scripts/gpu-prepare.sh) also serves low-latency groups, which never
        // copy in bulk: their launches must not carry the stages.
        var config = new EpConfig(EpMode.LowLatency, 256, 7168, 8, 128, layout);
        List<string> options = Options(config, NvrtcKernelTableTests.Architecture);
        options.Add("-DNCCLEP_HT_BULK=7");
        Assert.Null(CubinSections.GlobalInt32(Compile(options), BulkSharedMemory.Symbol));
    }

    [NvrtcFact]
    public void Default_build_asks_for_no_bulk_stages()
    {
        // The other half of the check above: without the switch nothing of ep_bulk.cuh is compiled in.
        var config = new EpConfig(EpMode.HighThroughput, 256, 7168, 8, 128, EpLayout.Flat);
        byte[] cubin = Compile(Options(config, NvrtcKernelTableTests.Architecture));
        Assert.Null(CubinSections.GlobalInt32(cubin, BulkSharedMemory.Symbol));  // so the host adds no shared memory
    }

    [NvrtcFact]
    public void Bulk_copy_build_for_an_older_gpu_is_refused_naming_the_architecture_it_needs()
    {
        // cp.async.bulk exists from sm_90: a bulk build for an A100 fails with the kernels' own message, whichever
        // NVRTC is loaded (with NVRTC 11 the message about the compiler may come instead; both name the switch).
        var config = new EpConfig(EpMode.HighThroughput, 256, 7168, 8, 128, EpLayout.Flat);
        List<string> options = Options(config, "sm_80");
        options.Add("-DNCCLEP_HT_BULK=7");

        NvrtcCompileException e = Assert.Throws<NvrtcCompileException>(() => NvrtcCompiler.Compile(KernelSource.Text, "ep.cu", options, out _));

        Assert.Contains("NCCLEP_HT_BULK needs", e.Log, StringComparison.Ordinal);
    }

    private static List<string> Options(in EpConfig config, string architecture) =>
        KernelCache.Options(config, architecture, EpKernelTable.For(config.Mode, config.Layout)[0].Defines);

    private static byte[] Compile(IReadOnlyList<string> options)
    {
        try
        {
            return KernelCache.GetOrCompile(KernelSource.Text, options, NvrtcKernelTableTests.CacheDirectory, out _);
        }
        catch (NvrtcCompileException e)
        {
            Assert.Fail($"{NvrtcCompiler.VersionString}, options {string.Join(' ', options)}:\n{e.Message}");
            throw;
        }
    }

    private static bool Defines(byte[] cubin, string name) => cubin.AsSpan().IndexOf(Encoding.ASCII.GetBytes(name + "\0")) >= 0;
}

/// <summary>A theory skipped, with the reason, where no NVRTC loads or the one that loads is older than 12 (no PTX ISA 8.0).</summary>
public sealed class BulkNvrtcTheoryAttribute : TheoryAttribute
{
    public BulkNvrtcTheoryAttribute()
    {
        if (NvrtcAvailability.WhyNot.Value is { } why) { Skip = why; return; }
        (int major, int minor) = Nvrtc.GetVersion();
        if (major < 12)
            Skip = $"the bulk-copy builds need NVRTC 12 or newer (PTX ISA 8.0: cp.async.bulk) and NVRTC {major}.{minor} is the one loaded ({NvrtcAvailability.InstallStatus()})";
    }
}
