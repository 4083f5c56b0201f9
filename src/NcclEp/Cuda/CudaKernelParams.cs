using System.Runtime.InteropServices;

namespace NcclEp.Cuda;

/// <summary>
/// The kernels' only argument, passed by value: a field-for-field mirror of <c>struct EpParams</c> in
/// <c>Kernels/ep_common.cuh</c> (a test checks the field order and size against the header). Built on the stack per call.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct CudaKernelParams
{
    public const int MaxWorld = 64;

    public int Rank, World, LocalExperts, NumExperts;
    public int TopK, MaxTokens, Hidden, RowBytes;
    public int HeaderBytes, MessageBytes, CombineSlots, NumTokens;
    public int Flags, ExpertAlignment, UpdateTileWords, Steps;
    public long TimeoutNs;
    public nint Window;
    public nint ErrorRecord;
    public long OffDispatchFlags, OffCombineFlags, OffExpertCounts, OffMessages, OffCombineRows;
    public nint State;
    public long HNumTokens, HTopKIds, HTopKWeights, HRankPositions, HSlotPositions;
    public long HSendRankCounts, HSendExpertCounts, HRecvRankCounts, HRecvExpertCounts, HRecvExpertOffsets;
    public long HRecvTotal, HRecvSourceOffsets, HRecvSourceInfo, HRecvTopKIds, HRecvTopKWeights;
    public long ReceiveRows;
    public nint Home;
    public long HomeStride;
    public nint Rows;
    public long RowsStride0, RowsStride1;
    public nint TopKIds;
    public long TopKIdsStride;
    public nint TopKWeights;
    public long TopKWeightsStride;
    public long HUpdateTiles, HSendTokens;
    public long OffChunkFlags;
    public ulong NetworkMask;
    public nint NetOut;
    public nint NetIn;
    public long NetDispatchSlice, NetCombineSlice, NetCombineBase;
    public int NetHeaderBytes, NetCombineSlots;
    public int NodeSize;   // hierarchical HT dispatch: ranks per node; 0 = flat (ep_common.cuh)
    public int Reserved3;
    public long OffCombineChunkFlags;
    public long HRecvMessageRows;
    public nint Scales;                // FP8 dispatch: the scales tensor (ep_common.cuh)
    public long ScalesStride0, ScalesColumnStride;
    public fixed long Peers[MaxWorld];
}
