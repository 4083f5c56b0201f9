using System;
using NcclEp.Backend;

namespace NcclEp.Cuda;

/// <summary>The parameter block's fixed part: topology, window offsets, peers and handle offsets.</summary>
internal sealed unsafe partial class CudaRankBackend
{
    private static CudaKernelParams BuildTemplate(CudaFabric fabric, int rank, nint errorRecord, TimeSpan timeout, NetworkStaging? staging)
    {
        EpConfig c = fabric.Config;
        WindowLayout w = fabric.Layout;
        var h = new HandleLayout(c, fabric.WorldSize);
        CudaKernelParams p = default;
        p.Rank = rank;
        p.World = fabric.WorldSize;
        p.LocalExperts = c.LocalExperts(fabric.WorldSize);
        p.NumExperts = c.NumExperts;
        p.TopK = c.TopK;
        p.MaxTokens = c.MaxTokensPerRank;
        p.Hidden = c.Hidden;
        p.RowBytes = c.RowBytes;
        p.HeaderBytes = w.HeaderBytes;
        p.MessageBytes = w.MessageBytes;
        p.CombineSlots = w.CombineSlots;
        p.ExpertAlignment = c.ExpertAlignment;
        p.TimeoutNs = (long)(timeout.TotalMilliseconds * 1_000_000);
        p.Window = fabric.Window(rank);
        p.ErrorRecord = errorRecord;
        p.OffDispatchFlags = w.DispatchFlags;
        p.OffCombineFlags = w.CombineFlags;
        p.OffExpertCounts = w.ExpertCounts;
        p.OffMessages = w.Messages;
        p.OffCombineRows = w.CombineRows;
        p.HNumTokens = h.NumTokens;
        p.HTopKIds = h.TopKIds;
        p.HTopKWeights = h.TopKWeights;
        p.HRankPositions = h.RankPositions;
        p.HSlotPositions = h.SlotPositions;
        p.HSendRankCounts = h.SendRankCounts;
        p.HSendExpertCounts = h.SendExpertCounts;
        p.HRecvRankCounts = h.RecvRankCounts;
        p.HRecvExpertCounts = h.RecvExpertCounts;
        p.HRecvExpertOffsets = h.RecvExpertOffsets;
        p.HRecvTotal = h.RecvTotal;
        p.HRecvSourceOffsets = h.RecvSourceOffsets;
        p.HRecvSourceInfo = h.RecvSourceInfo;
        p.HRecvTopKIds = h.RecvTopKIds;
        p.HRecvTopKWeights = h.RecvTopKWeights;
        p.ReceiveRows = h.ReceiveRows;
        p.HUpdateTiles = h.UpdateTileCounts;
        p.HSendTokens = h.SendTokens;
        p.OffChunkFlags = w.ChunkFlags;
        p.OffCombineChunkFlags = w.CombineChunkFlags;
        p.HRecvMessageRows = h.RecvMessageRows;
        p.Steps = StepsBoth;
        p.UpdateTileWords = HandleLayout.UpdateTileTokens / 32;
        if (staging is not null)
        {
            p.NetworkMask = fabric.NetworkMask(rank);
            p.NetOut = staging.Out;
            p.NetIn = staging.In;
            p.NetDispatchSlice = staging.DispatchSlice;
            p.NetCombineSlice = staging.CombineSlice;
            p.NetCombineBase = staging.CombineBase;
            p.NetHeaderBytes = staging.HeaderBytes;
            p.NetCombineSlots = staging.CombineSlots;
        }
        for (int peer = 0; peer < fabric.WorldSize; peer++) p.Peers[peer] = fabric.PeerWindow(rank, peer);
        return p;
    }
}
