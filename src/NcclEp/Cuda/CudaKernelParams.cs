using System.Runtime.InteropServices;

namespace NcclEp.Cuda;

/// <summary>
/// The kernels' only argument, passed by value: a field-for-field mirror of <c>struct EpParams</c> in
/// <c>Kernels/ep_common.cuh</c> (848 bytes; a test pins the size and offsets). Built on the stack per call.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CudaKernelParams
{
    public const int MaxWorld = 64;

    public int Rank, World, LocalExperts, NumExperts;
    public int TopK, MaxTokens, Hidden, RowBytes;
    public int HeaderBytes, MessageBytes, CombineSlots, NumTokens;
    public int Flags, ExpertAlignment, UpdateTileWords, Reserved1;
    public long TimeoutNs;
    public nint Window;
    public nint ErrorRecord;
    public long OffDispatchFlags, OffCombineFlags, OffExpertCounts, OffMessages, OffCombineRows;
    public nint State;
    public long HNumTokens, HTopkIds, HTopkWeights, HRankPositions, HSlotPositions;
    public long HSendRankCounts, HSendExpertCounts, HRecvRankCounts, HRecvExpertCounts, HRecvExpertOffsets;
    public long HRecvTotal, HRecvSourceOffsets, HRecvSourceInfo, HRecvTopkIds, HRecvTopkWeights;
    public long ReceiveRows;
    public nint Home;
    public long HomeStride;
    public nint Rows;
    public long RowsStride0, RowsStride1;
    public nint TopkIds;
    public long TopkIdsStride;
    public nint TopkWeights;
    public long TopkWeightsStride;
    public fixed long Peers[MaxWorld];
}
