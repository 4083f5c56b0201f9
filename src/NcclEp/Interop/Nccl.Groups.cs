using System.Runtime.InteropServices;

namespace NcclEp.Interop;

// Point-to-point and the one collective NcclEp uses (data path: blittable, nothing allocated).
internal static partial class Nccl
{
    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclGroupStart();

    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclGroupEnd();

    /// <summary>Sends <paramref name="count"/> elements to <paramref name="peer"/>.</summary>
    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclSend(nint buffer, nuint count, NcclDataType type, int peer, nint comm, nint stream);

    /// <summary>Receives <paramref name="count"/> elements from <paramref name="peer"/>.</summary>
    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclRecv(nint buffer, nuint count, NcclDataType type, int peer, nint comm, nint stream);

    /// <summary>In place when the two buffers are equal.</summary>
    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclAllReduce(nint send, nint receive, nuint count, NcclDataType type, NcclRedOp op, nint comm, nint stream);
}
