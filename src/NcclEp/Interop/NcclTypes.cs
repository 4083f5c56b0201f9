using System;
using System.Runtime.InteropServices;

namespace NcclEp.Interop;

// Mirrors of nccl.h (2.28) enums and the small ncclTeam struct. Values are ABI.

/// <summary>ncclResult_t.</summary>
internal enum NcclResult
{
    Success = 0,
    UnhandledCudaError = 1,
    SystemError = 2,
    InternalError = 3,
    InvalidArgument = 4,
    InvalidUsage = 5,
    RemoteError = 6,
    InProgress = 7,
}

/// <summary>ncclDataType_t (the C aliases ncclChar/ncclInt/ncclHalf/ncclFloat/ncclDouble are left out).</summary>
internal enum NcclDataType
{
    Int8 = 0,
    Uint8 = 1,
    Int32 = 2,
    Uint32 = 3,
    Int64 = 4,
    Uint64 = 5,
    Float16 = 6,
    Float32 = 7,
    Float64 = 8,
    Bfloat16 = 9,
    Float8E4M3 = 10,
    Float8E5M2 = 11,
}

/// <summary>ncclRedOp_t built-in operations.</summary>
internal enum NcclRedOp
{
    Sum = 0,
    Prod = 1,
    Max = 2,
    Min = 3,
    Avg = 4,
}

/// <summary>ncclCommWindowRegister flags (NCCL_WIN_*).</summary>
[Flags]
internal enum NcclWindowFlags
{
    /// <summary>NCCL_WIN_DEFAULT: a window for the Device API (LSA loads/stores) and registered collectives.</summary>
    Default = 0,

    /// <summary>NCCL_WIN_COLL_SYMMETRIC: also lets NCCL's symmetric collective kernels use it (same size/offset on all ranks).</summary>
    CollSymmetric = 1,
}

/// <summary>ncclTeam_t: a strided set of ranks, as returned by ncclTeamLsa/ncclTeamWorld (returned by value, 12 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NcclTeam
{
    public int NRanks;
    public int Rank;
    public int Stride;
}
