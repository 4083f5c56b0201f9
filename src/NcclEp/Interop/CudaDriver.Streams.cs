using System.Runtime.InteropServices;

namespace NcclEp.Interop;

// Streams and stream capture (CUDA 13: cuStreamBeginCapture_v2, cuStreamGetCaptureInfo_v3).
internal static unsafe partial class CudaDriver
{
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamCreate(out nint stream, CuStreamFlags flags);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamCreateWithPriority(out nint stream, CuStreamFlags flags, int priority);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamDestroy_v2(nint stream);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamSynchronize(nint stream);

    /// <summary>CUDA_SUCCESS when all work on the stream is done, CUDA_ERROR_NOT_READY while some is pending.</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamQuery(nint stream);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamWaitEvent(nint stream, nint cuEvent, uint flags);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamIsCapturing(nint stream, out CuStreamCaptureStatus status);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamBeginCapture_v2(nint stream, CuStreamCaptureMode mode);

    /// <summary>Ends capture; the caller owns the returned graph (destroy it with cuGraphDestroy).</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamEndCapture(nint stream, out nint graph);

    /// <summary>
    /// Capture state of a stream. <paramref name="dependencies"/> and <paramref name="edgeData"/> point into
    /// driver-owned arrays of <paramref name="dependencyCount"/> CUgraphNode / <see cref="CuGraphEdgeData"/>,
    /// valid until the next capture call on the stream; any out pointer may be null.
    /// </summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamGetCaptureInfo_v3(
        nint stream,
        CuStreamCaptureStatus* status,
        ulong* id,
        nint* graph,
        nint** dependencies,
        CuGraphEdgeData** edgeData,
        nuint* dependencyCount);
}
