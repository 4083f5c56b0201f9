using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.Testing;

/// <summary>
/// <see cref="AffineExperts"/> as one kernel on a Cuda rank's stream (<c>Experts/Kernels/affine_experts.cu</c>): no host
/// synchronisation and nothing read back (the rows in use come from the handle's counts in device memory), so it can
/// sit between dispatch and combine in a timed loop or a captured graph. Compiled with NVRTC for the group's
/// configuration (cached like the library's kernels); <see cref="Launch"/> allocates nothing.
/// </summary>
public sealed unsafe class GpuAffineExperts : IDisposable
{
    private const int Threads = 256;
    private readonly CudaDevice _device;
    private readonly EpConfig _config;
    private readonly uint _grid;
    private readonly long _rows;
    private nint _module, _function;

    public GpuAffineExperts(EpGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (group.RankBackend is not CudaRankBackend backend) throw new ArgumentException("the GPU experts need a Cuda group", nameof(group));
        _device = backend.Device;
        _config = group.Config;
        _rows = _config.ReceiveRows(group.WorldSize);
        _grid = (uint)Math.Clamp(_rows, 1, _device.Multiprocessors * 8L);
        byte[] cubin = KernelCache.GetOrCompile(KernelText, Options(_config, _device.Architecture), KernelCache.Directory(new EpGroupOptions()), out _);
        using CudaContextScope scope = _device.MakeCurrent();
        fixed (byte* image = cubin) Check.Cu(CudaDriver.cuModuleLoadData(out _module, image), "cuModuleLoadData (affine experts)");
        Check.Cu(CudaDriver.cuModuleGetFunction(out _function, _module, "affine_experts"), "cuModuleGetFunction(affine_experts)");
        // Loaded now, not at the first launch, as the library's kernels: a first launch may wait for a co-located peer.
        CudaKernelModule.LoadNow(_function, "affine_experts");
    }

    private static readonly Lazy<string> Source = new(() =>
    {
        using Stream stream = typeof(GpuAffineExperts).Assembly.GetManifestResourceStream("NcclEp.Testing.Kernels.affine_experts.cu")
            ?? throw new InvalidOperationException("affine_experts.cu is not embedded in NcclEp.Testing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>The kernel source.</summary>
    public static string KernelText => Source.Value;

    /// <summary>NVRTC options: architecture, exact fp32 (no fused multiply-add, as the library) and the layout's defines.</summary>
    public static List<string> Options(in EpConfig c, string architecture) =>
    [
        $"--gpu-architecture={architecture}",
        "-std=c++17",
        "--fmad=false",
        "-default-device",
        .. Defines(c),
    ];

    /// <summary>-D options for the layout, mode, data type, hidden size and top-k of <paramref name="c"/>.</summary>
    public static string[] Defines(in EpConfig c) =>
    [
        Define("LAYOUT", c.Layout switch { EpLayout.ExpertMajor => 1, EpLayout.RankMajor => 2, _ => 0 }),
        Define("MODE", c.Mode == EpMode.HighThroughput ? 1 : 0),
        Define("DTYPE", c.DataType == EpDataType.BFloat16 ? 0 : 1),
        Define("HIDDEN", c.Hidden),
        Define("TOPK", c.TopK),
    ];

    private static string Define(string name, int value) => string.Create(CultureInfo.InvariantCulture, $"-D{name}={value}");

    /// <summary>Enqueues the experts (or their backward) of <paramref name="handle"/>'s rank from <paramref name="input"/> to <paramref name="output"/> on <paramref name="stream"/>.</summary>
    public void Launch(EpHandle handle, in EpTensor input, in EpTensor output, EpPass pass, EpStream stream)
    {
        EpGroup g = handle.Group;
        ArgumentBlock a = default;
        a.In = input.Data;
        a.Out = output.Data;
        (a.BlockRows, a.InStride0, a.InStride1) = Geometry(input);
        (_, a.OutStride0, a.OutStride1) = Geometry(output);
        a.Total = handle.ReceivedTotal.Data;
        a.RankCounts = handle.ReceivedRankCounts.Data;
        a.ExpertCounts = handle.ReceivedExpertCounts.Data;
        a.ExpertOffsets = handle.ReceivedExpertOffsets.Data;
        a.Ids = handle.ReceivedTopKIds.Data;
        a.IdsStride = handle.ReceivedTopKIds.Stride(0);
        a.Weights = handle.ReceivedTopKWeights.Data;
        a.WeightsStride = handle.ReceivedTopKWeights.Stride(0);
        a.Rows = _rows;
        a.MaxTokens = _config.MaxTokensPerRank;
        a.World = g.WorldSize;
        a.LocalExperts = g.LocalExperts;
        a.Rank = g.Rank;
        a.Backward = pass == EpPass.Backward ? 1 : 0;
        void** arguments = stackalloc void*[21]
        {
            &a.In, &a.Out, &a.InStride0, &a.InStride1, &a.OutStride0, &a.OutStride1, &a.BlockRows, &a.Total, &a.RankCounts,
            &a.ExpertCounts, &a.ExpertOffsets, &a.Ids, &a.IdsStride, &a.Weights, &a.WeightsStride, &a.Rows, &a.MaxTokens,
            &a.World, &a.LocalExperts, &a.Rank, &a.Backward,
        };
        using CudaContextScope scope = _device.MakeCurrent();
        Check.Cu(CudaDriver.cuLaunchKernel(_function, _grid, 1, 1, Threads, 1, 1, 0, stream.Handle, arguments, null), "cuLaunchKernel (affine experts)");
    }

    /// <summary>(rows per block of dimension 0, stride of dimension 0, row stride), in elements: 3-D and 2-D layouts alike.</summary>
    private static (long BlockRows, long Stride0, long Stride1) Geometry(in EpTensor t) =>
        t.DimensionCount == 3 ? (t.Dim(1), t.Stride(0), t.Stride(1)) : (t.Dim(0), 0, t.Stride(0));

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
        public nint In, Out;
        public long InStride0, InStride1, OutStride0, OutStride1, BlockRows;
        public nint Total, RankCounts, ExpertCounts, ExpertOffsets, Ids;
        public long IdsStride;
        public nint Weights;
        public long WeightsStride, Rows;
        public int MaxTokens, World, LocalExperts, Rank, Backward;
    }
}
