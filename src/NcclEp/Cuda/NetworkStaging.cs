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
/// combine      u64 seq &lt;&lt; 32, up to HeaderBytes; then [M][S] rows    S = K (expert-major) or 1
/// </code>
/// docs/internode.md has the sizes per configuration.
/// </remarks>
internal sealed class NetworkStaging : IDisposable
{
    private const int Align = 128;
    private readonly CudaDevice _device;

    public NetworkStaging(CudaDevice device, in EpConfig config, in WindowLayout layout, ulong networkMask)
    {
        _device = device;
        Peers = BitOperations.PopCount(networkMask);
        HeaderBytes = (int)WindowLayout.RoundUp(8 + (4L * layout.LocalExperts), Align);
        CombineSlots = config.Layout == EpLayout.ExpertMajor ? config.TopK : 1;
        DispatchSlice = WindowLayout.RoundUp(HeaderBytes + ((long)layout.MaxTokens * layout.MessageBytes), Align);
        CombineSlice = WindowLayout.RoundUp(HeaderBytes + ((long)layout.MaxTokens * CombineSlots * layout.RowBytes), Align);
        CombineBase = Peers * DispatchSlice;
        long bytes = CombineBase + (Peers * CombineSlice);
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

    public int Peers { get; }
    public int HeaderBytes { get; }
    public int CombineSlots { get; }
    public long DispatchSlice { get; }
    public long CombineSlice { get; }
    public long CombineBase { get; }
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
