using System;
using NcclEp.Backend;
using NcclEp.Cuda;

namespace NcclEp;

/// <summary>Streams for a rank's data-path calls.</summary>
public sealed partial class EpGroup
{
    /// <summary>
    /// Creates a stream for this rank's data-path calls (control path). The group owns it: it is destroyed when the group
    /// is disposed. Cuda: a non-blocking stream on this rank's GPU. Host: <see cref="EpStream.Default"/>, since every call
    /// completes on the calling rank thread.
    /// </summary>
    /// <remarks>
    /// Ranks co-located on one GPU (<see cref="CreateCuda"/> with every rank on the same device) wait on each other inside
    /// their kernels, so no rank's kernel may queue behind another rank's. Their streams come from here one at a time:
    /// each new stream runs a first kernel at once and is checked against the device's transfer stream and the other
    /// ranks' streams; one that shares a hardware work queue with them is replaced (docs/failure-handling.md). Issue every
    /// co-located rank's calls on streams from here, and make them all before any rank issues work or captures a graph
    /// (the check runs a kernel on the other ranks' streams): on a stream made elsewhere a shared queue shows up as
    /// <see cref="EpTimeoutException"/>. On distinct GPUs any stream of the rank's device will do.
    /// </remarks>
    /// <returns>The stream, valid until the group is disposed.</returns>
    /// <exception cref="InvalidOperationException">Called inside a captured step (EpGraph.Capture).</exception>
    /// <exception cref="EpException">Co-located ranks: no stream on a hardware work queue of its own was found; the
    /// message names the variable to raise.</exception>
    /// <exception cref="ObjectDisposedException">The group is disposed.</exception>
    public EpStream CreateStream()
    {
        if (_disposed) ThrowHelper.Disposed(nameof(EpGroup));
        if (EpCaptureGuard.IsCapturing)
        {
            ThrowHelper.InvalidOperation(
                "EpGroup.CreateStream inside a captured step (EpGraph.Capture): making a stream is control-path work that a graph cannot hold; create the step's streams before capturing.");
        }
        return _backend is CudaRankBackend cuda ? new EpStream(cuda.CreateStream()) : EpStream.Default;
    }
}
