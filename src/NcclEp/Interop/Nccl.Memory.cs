using System.Runtime.InteropServices;

namespace NcclEp.Interop;

// Symmetric memory: ncclMemAlloc, windows, the LSA team (Device API host side).
internal static partial class Nccl
{
    /// <summary>Allocates cuMem (VMM) device memory on the current device, mappable by peers.</summary>
    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclMemAlloc(out nint pointer, nuint bytes);

    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclMemFree(nint pointer);

    /// <summary>
    /// Collective over the communicator: registers [pointer, pointer+bytes) as a window. The buffer must come
    /// from cuMem (e.g. ncclMemAlloc) and start 4096-byte aligned within its allocation. Inside a group the
    /// window handle is written at ncclGroupEnd, so <paramref name="window"/> must stay where it is until then.
    /// </summary>
    [LibraryImport(LibraryName)]
    internal static unsafe partial NcclResult ncclCommWindowRegister(nint comm, nint pointer, nuint bytes, nint* window, NcclWindowFlags flags);

    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclCommWindowDeregister(nint comm, nint window);

    /// <summary>This rank's LSA team (ranks reachable by loads/stores): size, own index, stride 1.</summary>
    [LibraryImport(LibraryName)]
    internal static partial NcclTeam ncclTeamLsa(nint comm);

    /// <summary>True when the loaded NCCL has the host-side LSA pointer query (2.29+).</summary>
    internal static bool HasGetLsaDevicePointer => NativeLibrary.TryGetExport(LibraryHandle, "ncclGetLsaDevicePointer", out _);

    /// <summary>Host-side address of a window's byte <paramref name="offset"/> on LSA peer <paramref name="lsaRank"/> (NCCL 2.29+: ask <see cref="HasGetLsaDevicePointer"/> first).</summary>
    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclGetLsaDevicePointer(nint window, nuint offset, int lsaRank, out nint pointer);
}
