using System.Runtime.InteropServices;

namespace NcclEp.Interop;

/// <summary>
/// The NCCL entry points, resolved once from the loaded library. Symbols that older NCCL releases lack are
/// null here, and the wrappers in <see cref="Nccl"/> turn a call to one of them into a clear exception.
/// </summary>
internal sealed unsafe class NcclApi
{
    public NcclApi(nint library, string path)
    {
        Library = library;
        Path = path;
        GetVersion = (delegate* unmanaged<int*, NcclResult>)Required(library, "ncclGetVersion");
        GetUniqueId = (delegate* unmanaged<NcclUniqueId*, NcclResult>)Required(library, "ncclGetUniqueId");
        CommInitRank = (delegate* unmanaged<nint*, int, NcclUniqueId, int, NcclResult>)Required(library, "ncclCommInitRank");
        CommInitAll = (delegate* unmanaged<nint*, int, int*, NcclResult>)Required(library, "ncclCommInitAll");
        CommDestroy = (delegate* unmanaged<nint, NcclResult>)Required(library, "ncclCommDestroy");
        CommAbort = (delegate* unmanaged<nint, NcclResult>)Required(library, "ncclCommAbort");
        CommGetAsyncError = (delegate* unmanaged<nint, NcclResult*, NcclResult>)Required(library, "ncclCommGetAsyncError");
        CommCount = (delegate* unmanaged<nint, int*, NcclResult>)Required(library, "ncclCommCount");
        CommCuDevice = (delegate* unmanaged<nint, int*, NcclResult>)Required(library, "ncclCommCuDevice");
        CommUserRank = (delegate* unmanaged<nint, int*, NcclResult>)Required(library, "ncclCommUserRank");
        GetErrorString = (delegate* unmanaged<NcclResult, byte*>)Required(library, "ncclGetErrorString");
        GroupStart = (delegate* unmanaged<NcclResult>)Required(library, "ncclGroupStart");
        GroupEnd = (delegate* unmanaged<NcclResult>)Required(library, "ncclGroupEnd");
        Send = (delegate* unmanaged<nint, nuint, NcclDataType, int, nint, nint, NcclResult>)Required(library, "ncclSend");
        Recv = (delegate* unmanaged<nint, nuint, NcclDataType, int, nint, nint, NcclResult>)Required(library, "ncclRecv");
        AllReduce = (delegate* unmanaged<nint, nint, nuint, NcclDataType, NcclRedOp, nint, nint, NcclResult>)Required(library, "ncclAllReduce");

        // Later additions: 2.13 (last error), 2.14 (config, finalize), 2.19 (mem alloc), 2.27 (windows),
        // 2.28 (Device API teams), 2.29 (host-side LSA pointer query).
        GetLastError = (delegate* unmanaged<nint, byte*>)Optional(library, "ncclGetLastError");
        CommInitRankConfig = (delegate* unmanaged<nint*, int, NcclUniqueId, int, NcclConfig*, NcclResult>)Optional(library, "ncclCommInitRankConfig");
        CommFinalize = (delegate* unmanaged<nint, NcclResult>)Optional(library, "ncclCommFinalize");
        MemAlloc = (delegate* unmanaged<nint*, nuint, NcclResult>)Optional(library, "ncclMemAlloc");
        MemFree = (delegate* unmanaged<nint, NcclResult>)Optional(library, "ncclMemFree");
        CommWindowRegister = (delegate* unmanaged<nint, nint, nuint, nint*, NcclWindowFlags, NcclResult>)Optional(library, "ncclCommWindowRegister");
        CommWindowDeregister = (delegate* unmanaged<nint, nint, NcclResult>)Optional(library, "ncclCommWindowDeregister");
        TeamLsa = (delegate* unmanaged<nint, NcclTeam>)Optional(library, "ncclTeamLsa");
        GetLsaDevicePointer = (delegate* unmanaged<nint, nuint, int, nint*, NcclResult>)Optional(library, "ncclGetLsaDevicePointer");
    }

    /// <summary>The loader handle.</summary>
    public nint Library { get; }

    /// <summary>Where it was loaded from (the override path or the soname).</summary>
    public string Path { get; }

    public readonly delegate* unmanaged<int*, NcclResult> GetVersion;
    public readonly delegate* unmanaged<NcclUniqueId*, NcclResult> GetUniqueId;
    public readonly delegate* unmanaged<nint*, int, NcclUniqueId, int, NcclResult> CommInitRank;
    public readonly delegate* unmanaged<nint*, int, int*, NcclResult> CommInitAll;
    public readonly delegate* unmanaged<nint, NcclResult> CommDestroy;
    public readonly delegate* unmanaged<nint, NcclResult> CommAbort;
    public readonly delegate* unmanaged<nint, NcclResult*, NcclResult> CommGetAsyncError;
    public readonly delegate* unmanaged<nint, int*, NcclResult> CommCount;
    public readonly delegate* unmanaged<nint, int*, NcclResult> CommCuDevice;
    public readonly delegate* unmanaged<nint, int*, NcclResult> CommUserRank;
    public readonly delegate* unmanaged<NcclResult, byte*> GetErrorString;
    public readonly delegate* unmanaged<NcclResult> GroupStart;
    public readonly delegate* unmanaged<NcclResult> GroupEnd;
    public readonly delegate* unmanaged<nint, nuint, NcclDataType, int, nint, nint, NcclResult> Send;
    public readonly delegate* unmanaged<nint, nuint, NcclDataType, int, nint, nint, NcclResult> Recv;
    public readonly delegate* unmanaged<nint, nint, nuint, NcclDataType, NcclRedOp, nint, nint, NcclResult> AllReduce;
    public readonly delegate* unmanaged<nint, byte*> GetLastError;
    public readonly delegate* unmanaged<nint*, int, NcclUniqueId, int, NcclConfig*, NcclResult> CommInitRankConfig;
    public readonly delegate* unmanaged<nint, NcclResult> CommFinalize;
    public readonly delegate* unmanaged<nint*, nuint, NcclResult> MemAlloc;
    public readonly delegate* unmanaged<nint, NcclResult> MemFree;
    public readonly delegate* unmanaged<nint, nint, nuint, nint*, NcclWindowFlags, NcclResult> CommWindowRegister;
    public readonly delegate* unmanaged<nint, nint, NcclResult> CommWindowDeregister;
    public readonly delegate* unmanaged<nint, NcclTeam> TeamLsa;
    public readonly delegate* unmanaged<nint, nuint, int, nint*, NcclResult> GetLsaDevicePointer;

    private static nint Required(nint library, string name) => NativeLibrary.GetExport(library, name);

    private static nint Optional(nint library, string name) =>
        NativeLibrary.TryGetExport(library, name, out nint address) ? address : 0;
}
