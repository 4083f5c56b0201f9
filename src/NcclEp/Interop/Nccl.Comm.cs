using System.Runtime.InteropServices;

namespace NcclEp.Interop;

// Communicators: the unique id, creation, queries, teardown.
internal static partial class Nccl
{
    /// <summary>A new id, made on one rank and sent to all the others (ncclGetUniqueId).</summary>
    internal static NcclUniqueId CreateUniqueId()
    {
        Check.Nccl(ncclGetUniqueId(out NcclUniqueId id), "ncclGetUniqueId");
        return id;
    }

    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclGetUniqueId(out NcclUniqueId id);

    /// <summary>Joins rank <paramref name="rank"/> of <paramref name="nRanks"/> (collective: every rank calls it with the same id, passed by value).</summary>
    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclCommInitRank(out nint comm, int nRanks, NcclUniqueId id, int rank);

    /// <summary>One communicator per device of this process; <paramref name="comms"/> holds <paramref name="count"/> entries.</summary>
    [LibraryImport(LibraryName)]
    internal static unsafe partial NcclResult ncclCommInitAll(nint* comms, int count, int* devices);

    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclCommDestroy(nint comm);

    /// <summary>Frees the communicator now, cancelling pending operations (for a hung or failed peer).</summary>
    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclCommAbort(nint comm);

    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclCommCuDevice(nint comm, out int device);

    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclCommUserRank(nint comm, out int rank);
}
