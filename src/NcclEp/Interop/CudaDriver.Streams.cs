using System.Runtime.InteropServices;

namespace NcclEp.Interop;

// Streams and stream capture (CUDA 13: cuStreamBeginCapture_v2).
internal static unsafe partial class CudaDriver
{
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamCreate(out nint stream, CuStreamFlags flags);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamDestroy_v2(nint stream);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamSynchronize(nint stream);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamWaitEvent(nint stream, nint cuEvent, uint flags);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamIsCapturing(nint stream, out CuStreamCaptureStatus status);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamBeginCapture_v2(nint stream, CuStreamCaptureMode mode);

    /// <summary>Ends capture; the caller owns the returned graph (destroy it with cuGraphDestroy).</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuStreamEndCapture(nint stream, out nint graph);
}
