namespace NcclEp.Interop;

// Communicators: creation, queries, errors, teardown.
internal static unsafe partial class Nccl
{
    internal static NcclResult ncclGetUniqueId(out NcclUniqueId id)
    {
        fixed (NcclUniqueId* p = &id)
        {
            return Api.GetUniqueId(p);
        }
    }

    internal static NcclResult ncclCommInitRank(out nint comm, int nRanks, in NcclUniqueId id, int rank)
    {
        fixed (nint* p = &comm)
        {
            return Api.CommInitRank(p, nRanks, id, rank);
        }
    }

    internal static NcclResult ncclCommInitRankConfig(out nint comm, int nRanks, in NcclUniqueId id, int rank, ref NcclConfig config)
    {
        NcclApi api = Api;
        if (api.CommInitRankConfig == null)
        {
            ThrowMissingEntryPoint("ncclCommInitRankConfig", "2.14");
        }

        fixed (nint* p = &comm)
        fixed (NcclConfig* c = &config)
        {
            return api.CommInitRankConfig(p, nRanks, id, rank, c);
        }
    }

    /// <summary>One communicator per device of this process; <paramref name="comms"/> must be as long as <paramref name="devices"/>.</summary>
    internal static NcclResult ncclCommInitAll(System.Span<nint> comms, System.ReadOnlySpan<int> devices)
    {
        fixed (nint* c = comms)
        fixed (int* d = devices)
        {
            return Api.CommInitAll(c, devices.Length, d);
        }
    }

    internal static NcclResult ncclCommFinalize(nint comm)
    {
        NcclApi api = Api;
        if (api.CommFinalize == null)
        {
            ThrowMissingEntryPoint("ncclCommFinalize", "2.14");
        }

        return api.CommFinalize(comm);
    }

    internal static NcclResult ncclCommDestroy(nint comm) => Api.CommDestroy(comm);

    internal static NcclResult ncclCommAbort(nint comm) => Api.CommAbort(comm);

    internal static NcclResult ncclCommGetAsyncError(nint comm, out NcclResult asyncError)
    {
        fixed (NcclResult* p = &asyncError)
        {
            return Api.CommGetAsyncError(comm, p);
        }
    }

    internal static NcclResult ncclCommCount(nint comm, out int count)
    {
        fixed (int* p = &count)
        {
            return Api.CommCount(comm, p);
        }
    }

    internal static NcclResult ncclCommCuDevice(nint comm, out int device)
    {
        fixed (int* p = &device)
        {
            return Api.CommCuDevice(comm, p);
        }
    }

    internal static NcclResult ncclCommUserRank(nint comm, out int rank)
    {
        fixed (int* p = &rank)
        {
            return Api.CommUserRank(comm, p);
        }
    }
}
