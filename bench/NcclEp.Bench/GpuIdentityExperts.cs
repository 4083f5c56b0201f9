using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.CompilerServices;
using NcclEp;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.Bench;

/// <summary>
/// The identity experts of <see cref="IdentityExperts"/> as one kernel on the rank's stream (Kernels/identity_experts.cu):
/// no host synchronisation and nothing read back, so the GPU stays busy between dispatch and combine as it would
/// with real experts, and the timed combine starts on a GPU in the same state as the peer-copy ceiling it is
/// compared with. Compiled with NVRTC (cached like the library's kernels); <see cref="Run"/> allocates nothing.
/// </summary>
internal sealed unsafe class GpuIdentityExperts : IExpertsStep, IDisposable
{
    private const int Threads = 256;
    private readonly RankState _s;
    private readonly CudaDevice _device;
    private readonly uint _grid;
    private readonly long _rows;
    private nint _module, _function;

    public GpuIdentityExperts(RankState state)
    {
        _s = state;
        _device = ((CudaRankBackend)state.Group.RankBackend).Device;
        EpConfig c = state.Config;
        _rows = c.ReceiveRows(state.Group.WorldSize);
        _grid = (uint)Math.Clamp(_rows, 1, _device.Multiprocessors * 8L);
        byte[] cubin = KernelCache.GetOrCompile(Source.Value, Options(c, _device.Architecture), KernelCache.Directory(new EpGroupOptions()), out _);
        using CudaContextScope scope = _device.MakeCurrent();
        fixed (byte* image = cubin) Check.Cu(CudaDriver.cuModuleLoadData(out _module, image), "cuModuleLoadData (identity experts)");
        Check.Cu(CudaDriver.cuModuleGetFunction(out _function, _module, "bench_identity_experts"), "cuModuleGetFunction(bench_identity_experts)");
    }

    private static readonly Lazy<string> Source = new(() =>
    {
        using Stream stream = typeof(GpuIdentityExperts).Assembly.GetManifestResourceStream("NcclEp.Bench.Kernels.identity_experts.cu")
            ?? throw new InvalidOperationException("identity_experts.cu is not embedded in the bench.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>The kernel source (tests compile it with the host compiler).</summary>
    internal static string KernelText => Source.Value;

    /// <summary>NVRTC options: architecture, exact fp32 (no fused multiply-add, as the library) and the layout's defines.</summary>
    internal static List<string> Options(in EpConfig c, string architecture) =>
    [
        $"--gpu-architecture={architecture}",
        "-std=c++17",
        "--fmad=false",
        "-default-device",
        .. Defines(c),
    ];

    /// <summary>-D options for the layout, mode, data type, hidden size and top-k of <paramref name="c"/>.</summary>
    internal static string[] Defines(in EpConfig c) =>
    [
        Define("LAYOUT", c.Layout switch { EpLayout.ExpertMajor => 1, EpLayout.RankMajor => 2, _ => 0 }),
        Define("MODE", c.Mode == EpMode.HighThroughput ? 1 : 0),
        Define("DTYPE", c.DataType == EpDataType.BFloat16 ? 0 : 1),
        Define("HIDDEN", c.Hidden),
        Define("TOPK", c.TopK),
    ];

    private static string Define(string name, int value) => string.Create(CultureInfo.InvariantCulture, $"-D{name}={value}");

    public void Run()
    {
        EpHandle h = _s.Handle;
        ArgumentBlock a = default;
        a.In = _s.ReceivedBuffer.Pointer;
        a.Out = _s.ExpertOutputsBuffer.Pointer;
        a.Total = h.ReceivedTotal.Data;
        a.RankCounts = h.ReceivedRankCounts.Data;
        a.ExpertCounts = h.ReceivedExpertCounts.Data;
        a.ExpertOffsets = h.ReceivedExpertOffsets.Data;
        a.Ids = h.ReceivedTopkIds.Data;
        a.Weights = h.ReceivedTopkWeights.Data;
        a.Rows = _rows;
        a.MaxTokens = _s.Config.MaxTokensPerRank;
        a.World = _s.Group.WorldSize;
        a.LocalExperts = _s.Group.LocalExperts;
        a.Rank = _s.Rank;
        void** arguments = stackalloc void*[13]
        {
            &a.In, &a.Out, &a.Total, &a.RankCounts, &a.ExpertCounts, &a.ExpertOffsets, &a.Ids, &a.Weights,
            &a.Rows, &a.MaxTokens, &a.World, &a.LocalExperts, &a.Rank,
        };
        using CudaContextScope scope = _device.MakeCurrent();
        Check.Cu(CudaDriver.cuLaunchKernel(_function, _grid, 1, 1, Threads, 1, 1, 0, _s.Stream.Handle, arguments, null), "cuLaunchKernel (identity experts)");
    }

    public void Dispose()
    {
        if (_module == 0) return;
        using CudaContextScope scope = CudaContextScope.TryEnter(_device.Context, out _);
        _ = CudaDriver.cuModuleUnload(_module);
        _module = _function = 0;
    }

    /// <summary>The kernel's arguments, on the stack for one launch.</summary>
    private struct ArgumentBlock
    {
        public nint In, Out, Total, RankCounts, ExpertCounts, ExpertOffsets, Ids, Weights;
        public long Rows;
        public int MaxTokens, World, LocalExperts, Rank;
    }
}
