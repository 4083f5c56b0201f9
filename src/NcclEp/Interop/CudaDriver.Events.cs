using System.Runtime.InteropServices;

namespace NcclEp.Interop;

// Events (CUDA 13 maps cuEventElapsedTime to cuEventElapsedTime_v2).
internal static partial class CudaDriver
{
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuEventCreate(out nint cuEvent, CuEventFlags flags);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuEventDestroy_v2(nint cuEvent);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuEventRecord(nint cuEvent, nint stream);

    /// <summary>flags 1 (CU_EVENT_RECORD_EXTERNAL): during stream capture, a real event-record node in the graph.</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuEventRecordWithFlags(nint cuEvent, nint stream, uint flags);

    /// <summary>CUDA_SUCCESS when the event has completed, CUDA_ERROR_NOT_READY otherwise.</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuEventQuery(nint cuEvent);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuEventElapsedTime_v2(out float milliseconds, nint start, nint end);
}
