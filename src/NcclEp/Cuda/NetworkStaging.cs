using System;
using System.Numerics;
using NcclEp.Backend;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// One rank's staging buffers for its network peers (outside the NCCL LSA team): what the kernels' send half
/// packs for each such peer (out) and what NCCL's send/recv brings from it (in). Sizes are fixed worst cases with
/// the counts in-band, so an operation never reads a size back and stays capturable in a CUDA Graph. The buffers
/// are parity-free: stream order guarantees the previous operation consumed them.
/// </summary>
/// <remarks>
/// <code>
/// out, in      [R] dispatch slices, then [R] combine slices    R = network peers, in rank order
/// dispatch     u64 seq &lt;&lt; 32 | count, i32 expertCounts[L], up to HeaderBytes; then [M] messages
/// combine      u64 seq &lt;&lt; 32, up to HeaderBytes; then [M][S] rows    S = K (per-slot expert-major) or 1
/// </code>
/// docs/internode.md has the sizes per configuration.
/// </remarks>
internal sealed class NetworkStaging : IDisposable
{
    private readonly CudaDevice _device;

    public NetworkStaging(CudaDevice device, in EpConfig config, in WindowLayout layout, ulong networkMask, int nodeSize = 0)
    {
        _device = device;
        Slices = new NetworkSlices(config, layout, BitOperations.PopCount(networkMask), nodeSize);
        long bytes = Slices.BytesPerHalf;
        using CudaContextScope scope = device.MakeCurrent();
        try
        {
            Check.Cu(CudaDriver.cuMemAlloc_v2(out nint output, (nuint)bytes), "cuMemAlloc_v2 (network staging, out)");
            Out = output;
            Check.Cu(CudaDriver.cuMemAlloc_v2(out nint input, (nuint)bytes), "cuMemAlloc_v2 (network staging, in)");
            In = input;
            Check.Cu(CudaDriver.cuMemsetD8_v2(Out, 0, (nuint)bytes), "cuMemsetD8_v2");
            Check.Cu(CudaDriver.cuMemsetD8_v2(In, 0, (nuint)bytes), "cuMemsetD8_v2");
            Check.Cu(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public NetworkSlices Slices { get; }
    public int HeaderBytes => Slices.HeaderBytes;
    public int CombineSlots => Slices.CombineSlots;
    public long DispatchSlice => Slices.DispatchSlice;
    public long CombineSlice => Slices.CombineSlice;
    public long CombineBase => Slices.CombineBase;
    public nint Out { get; private set; }
    public nint In { get; private set; }

    public void Dispose()
    {
        if (Out == 0 && In == 0) return;
        using CudaContextScope scope = CudaContextScope.TryEnter(_device.Context, out _);
        if (Out != 0) _ = CudaDriver.cuMemFree_v2(Out);
        if (In != 0) _ = CudaDriver.cuMemFree_v2(In);
        Out = In = 0;
    }
}

/// <summary>Sizes of the staging slices for <see cref="Peers"/> network peers (what <see cref="NetworkStaging"/> allocates per half).</summary>
internal readonly record struct NetworkSlices
{
    private const int Align = 128;

    /// <summary>Sizes for <paramref name="peers"/> network peers; with <paramref name="nodeSize"/> (hierarchical
    /// dispatch, ranks per node) the dispatch slices are rail slices (<see cref="HierarchicalDispatch.RailSliceBytes"/>),
    /// used for the rail peers only.</summary>
    public NetworkSlices(in EpConfig config, in WindowLayout layout, int peers, int nodeSize = 0)
    {
        Peers = peers;
        HeaderBytes = (int)WindowLayout.RoundUp(8 + (4L * layout.LocalExperts), Align);
        CombineSlots = config.Layout == EpLayout.ExpertMajor && !config.CombinesPartials ? config.TopK : 1;
        DispatchSlice = WindowLayout.RoundUp(
            nodeSize > 0 ? HierarchicalDispatch.RailSliceBytes(layout, nodeSize) : HeaderBytes + ((long)layout.MaxTokens * layout.MessageBytes), Align);
        CombineSlice = WindowLayout.RoundUp(HeaderBytes + ((long)layout.MaxTokens * CombineSlots * layout.RowBytes), Align);
        CombineBase = peers * DispatchSlice;
        BytesPerHalf = CombineBase + (peers * CombineSlice);
    }

    public int Peers { get; }

    /// <summary>In-band header of a slice: u64 sequence (and count), then for dispatch one i32 count per local expert.
    /// Combine slices use the same header size (the kernels take one offset), 128 B while L ≤ 30.</summary>
    public int HeaderBytes { get; }

    /// <summary>Rows per token in a combine slice: K for per-slot expert-major (one per top-k slot), else 1 (one per
    /// (token, rank), per-rank partials included).</summary>
    public int CombineSlots { get; }

    public long DispatchSlice { get; }
    public long CombineSlice { get; }

    /// <summary>Offset of the combine slices inside each half (after the dispatch slices).</summary>
    public long CombineBase { get; }

    /// <summary>Bytes of one half (out or in).</summary>
    public long BytesPerHalf { get; }
}
