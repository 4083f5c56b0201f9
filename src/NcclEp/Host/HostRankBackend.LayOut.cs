using System;
using System.Threading;
using NcclEp.Backend;

namespace NcclEp.Host;

/// <summary>The receive half of the dispatch route: copy each message's row into the layout, with its metadata.</summary>
internal sealed unsafe partial class HostRankBackend
{
    private void LayOutRows<TElement>(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, int parity, bool scaleByWeight)
        where TElement : unmanaged, IRowElement
    {
        EpConfig c = _fabric.Config;
        int k = _topK, header = _layout.HeaderBytes, rowBytes = _layout.RowBytes;
        int* rankCounts = (int*)(state + h.RecvRankCounts);
        int* sourceInfo = (int*)(state + h.RecvSourceInfo);
        bool perExpert = c.Layout == EpLayout.ExpertMajor;
        int* sourceOffsets = (int*)(state + h.RecvSourceOffsets);
        int* expertOffsets = (int*)(state + h.RecvExpertOffsets);
        int* recvIds = (int*)(state + h.RecvTopkIds);
        float* recvWeights = (float*)(state + h.RecvTopkWeights);

        int flatBase = 0;
        for (int s = 0; s < _worldSize; s++)
        {
            for (int i = 0; i < rankCounts[s]; i++)
            {
                byte* message = _window + _layout.Message(parity, s, i);
                byte* payload = message + header;
                int token = *(int*)(message + MessageHeader.Token);
                int* msgIds = (int*)(message + MessageHeader.TopkIds);
                float* msgWeights = (float*)(message + MessageHeader.TopkWeights(k));
                if (!perExpert)
                {
                    long index = c.Layout == EpLayout.RankMajor ? ((long)s * _maxTokens) + i : flatBase + i;
                    byte* dst = c.Layout == EpLayout.RankMajor
                        ? (byte*)args.Rows + (s * args.RowsStride0) + (i * args.RowsStride1)
                        : (byte*)args.Rows + (index * args.RowsStride0);
                    Buffer.MemoryCopy(payload, dst, rowBytes, rowBytes);
                    WriteSourceInfo(sourceInfo, index, s, token, -1);
                    for (int slot = 0; slot < k; slot++)
                    {
                        recvIds[(index * k) + slot] = msgIds[slot];
                        recvWeights[(index * k) + slot] = msgWeights[slot];
                    }
                    continue;
                }

                int* msgSlots = (int*)(message + MessageHeader.SlotPositions(k));
                for (int slot = 0; slot < k; slot++)
                {
                    int position = msgSlots[slot];
                    if (position < 0) continue;
                    int l = msgIds[slot] - (_rank * _localExperts);
                    int j = sourceOffsets[(l * _worldSize) + s] + position;
                    long index = (long)expertOffsets[l] + j;
                    byte* dst = c.Mode == EpMode.LowLatency
                        ? (byte*)args.Rows + (l * args.RowsStride0) + (j * args.RowsStride1)
                        : (byte*)args.Rows + (index * args.RowsStride0);
                    if (scaleByWeight) ScaleRow<TElement>(payload, dst, msgWeights[slot]);
                    else Buffer.MemoryCopy(payload, dst, rowBytes, rowBytes);
                    WriteSourceInfo(sourceInfo, index, s, token, slot);
                }
            }
            flatBase += rankCounts[s];
        }

        if (perExpert && c.Mode == EpMode.HighThroughput) ZeroPadding(state, h, in args);
    }

    /// <summary>High-throughput expert-major: rows between an expert's count and its padded end are zeros.</summary>
    private void ZeroPadding(byte* state, HandleLayout h, ref readonly EpLaunchArgs args)
    {
        int* expertCounts = (int*)(state + h.RecvExpertCounts);
        int* expertOffsets = (int*)(state + h.RecvExpertOffsets);
        int* sourceInfo = (int*)(state + h.RecvSourceInfo);
        for (int l = 0; l < _localExperts; l++)
        {
            int end = l + 1 < _localExperts ? expertOffsets[l + 1] : expertOffsets[_localExperts];
            for (long index = expertOffsets[l] + expertCounts[l]; index < end; index++)
            {
                new Span<byte>((byte*)args.Rows + (index * args.RowsStride0), _layout.RowBytes).Clear();
                WriteSourceInfo(sourceInfo, index, -1, -1, -1);
            }
        }
    }

    private void ScaleRow<TElement>(byte* source, byte* destination, float weight) where TElement : unmanaged, IRowElement
    {
        for (int e = 0; e < _hidden; e++) TElement.Store(destination, e, weight * TElement.Load(source, e));
    }

    private static void WriteSourceInfo(int* sourceInfo, long index, int rank, int token, int slot)
    {
        int* entry = sourceInfo + (index * 3);
        entry[0] = rank;
        entry[1] = token;
        entry[2] = slot;
    }
}
