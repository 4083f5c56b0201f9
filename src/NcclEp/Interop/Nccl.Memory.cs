namespace NcclEp.Interop;

// Symmetric memory: ncclMemAlloc, windows, the LSA team (Device API host side).
internal static unsafe partial class Nccl
{
    /// <summary>Allocates cuMem (VMM) device memory on the current device, mappable by peers (needs NCCL 2.19).</summary>
    internal static NcclResult ncclMemAlloc(out nint pointer, nuint bytes)
    {
        NcclApi api = Api;
        if (api.MemAlloc == null)
        {
            ThrowMissingEntryPoint("ncclMemAlloc", "2.19");
        }

        fixed (nint* p = &pointer)
        {
            return api.MemAlloc(p, bytes);
        }
    }

    internal static NcclResult ncclMemFree(nint pointer)
    {
        NcclApi api = Api;
        if (api.MemFree == null)
        {
            ThrowMissingEntryPoint("ncclMemFree", "2.19");
        }

        return api.MemFree(pointer);
    }

    /// <summary>
    /// Collective over the communicator: registers [pointer, pointer+bytes) as a window. The buffer must come
    /// from cuMem (e.g. ncclMemAlloc) and start 4096-byte aligned within its allocation. Inside a group the
    /// window handle is written at ncclGroupEnd.
    /// </summary>
    internal static NcclResult ncclCommWindowRegister(nint comm, nint pointer, nuint bytes, out nint window, NcclWindowFlags flags)
    {
        NcclApi api = Api;
        if (api.CommWindowRegister == null)
        {
            ThrowMissingEntryPoint("ncclCommWindowRegister", "2.27");
        }

        window = 0;
        fixed (nint* w = &window)
        {
            return api.CommWindowRegister(comm, pointer, bytes, w, flags);
        }
    }

    internal static NcclResult ncclCommWindowDeregister(nint comm, nint window)
    {
        NcclApi api = Api;
        if (api.CommWindowDeregister == null)
        {
            ThrowMissingEntryPoint("ncclCommWindowDeregister", "2.27");
        }

        return api.CommWindowDeregister(comm, window);
    }

    /// <summary>This rank's LSA team (ranks reachable by loads/stores): size, own index, stride 1. Needs NCCL 2.28.</summary>
    internal static NcclTeam ncclTeamLsa(nint comm)
    {
        NcclApi api = Api;
        if (api.TeamLsa == null)
        {
            ThrowMissingEntryPoint("ncclTeamLsa", "2.28");
        }

        return api.TeamLsa(comm);
    }

    /// <summary>True when the loaded NCCL has the host-side LSA pointer query (2.29+).</summary>
    internal static bool HasGetLsaDevicePointer => Api.GetLsaDevicePointer != null;

    /// <summary>Host-side address of a window's byte <paramref name="offset"/> on LSA peer <paramref name="lsaRank"/> (NCCL 2.29+).</summary>
    internal static NcclResult ncclGetLsaDevicePointer(nint window, nuint offset, int lsaRank, out nint pointer)
    {
        NcclApi api = Api;
        if (api.GetLsaDevicePointer == null)
        {
            ThrowMissingEntryPoint("ncclGetLsaDevicePointer", "2.29");
        }

        fixed (nint* p = &pointer)
        {
            return api.GetLsaDevicePointer(window, offset, lsaRank, p);
        }
    }
}
