using System;
using System.Threading;
using NcclEp.Backend;

namespace NcclEp.Host;

/// <summary>The receive half of the dispatch route: after each chunk's flag, copy its messages' rows into the layout, with their metadata.</summary>
internal sealed unsafe partial class HostRankBackend
{
    private void LayOutRows<TElement>(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, uint sequence, int parity, long deadline, bool scaleByWeight, int messageBytes)
        where TElement : unmanaged, IRowElement
    {
        int* rankCounts = (int*)(state + h.RecvRankCounts);
        int flatBase = 0;
        for (int s = 0; s < _worldSize; s++)
        {
            int n = rankCounts[s];
            for (int c = 0; n > 0 && c < _chunks.Count(n); c++)
            {
                ulong* flag = (ulong*)(_window + _layout.ChunkFlag(parity, s, c));
                if (!PeerWait.TryWaitSequence(flag, sequence, deadline, out _))
                    FailWait(s, EpPhase.DispatchReceive, sequence);
                int end = _chunks.Begin(n, c + 1);
                for (int i = _chunks.Begin(n, c); i < end; i++) LayOutMessage<TElement>(state, h, in args, parity, s, i, flatBase, scaleByWeight, messageBytes);
            }
            flatBase += n;
        }

        if (_fabric.Config.Layout == EpLayout.ExpertMajor && _fabric.Config.Mode == EpMode.HighThroughput) ZeroPadding(state, h, in args);
    }

    /// <summary>
    /// Message <paramref name="i"/> of source <paramref name="s"/>: one row (per-rank layouts) or one row per slot whose
    /// expert is here (expert-major, where each slot's row is also recorded per message, as the kernel does: the combine
    /// sends rows home in message order).
    /// </summary>
    private void LayOutMessage<TElement>(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, int parity, int s, int i, int flatBase, bool scaleByWeight, int messageBytes)
        where TElement : unmanaged, IRowElement
    {
        EpConfig c = _fabric.Config;
        int k = _topK;
        int* sourceInfo = (int*)(state + h.RecvSourceInfo);
        byte* message = _window + _layout.Message(parity, s, i, messageBytes);
        int token = *(int*)(message + MessageHeader.Token);
        // This rank's own tokens: the row is read from home, where the send half left it (as the kernels do); an FP8
        // dispatch's own message carries its quantized row.
        bool fromHome = s == _rank && args.Quantization == EpDispatchQuantization.None;
        byte* payload = fromHome ? (byte*)args.Home + (token * args.HomeRowStride) : message + _layout.HeaderBytes;
        int* msgIds = (int*)(message + MessageHeader.TopKIds);
        float* msgWeights = (float*)(message + MessageHeader.TopKWeights(k));
        if (c.Layout != EpLayout.ExpertMajor)
        {
            long index = c.Layout == EpLayout.RankMajor ? ((long)s * _maxTokens) + i : flatBase + i;
            // Rows in this window (zero-copy receive, never FP8): a peer's row is where it wrote it; only this rank's own is copied in.
            if (!InWindow(args.Rows) || s == _rank) CopyPayload(in args, payload, index);
            WriteSourceInfo(sourceInfo, index, s, token, -1);
            int* recvIds = (int*)(state + h.RecvTopKIds);
            float* recvWeights = (float*)(state + h.RecvTopKWeights);
            for (int slot = 0; slot < k; slot++)
            {
                recvIds[(index * k) + slot] = msgIds[slot];
                recvWeights[(index * k) + slot] = msgWeights[slot];
            }
            return;
        }

        bool packed = c.Mode == EpMode.HighThroughput;
        long capacity = (long)_worldSize * _maxTokens;
        int* expertCounts = (int*)(state + h.RecvExpertCounts);
        int* sourceOffsets = (int*)(state + h.RecvSourceOffsets);
        int* expertOffsets = (int*)(state + h.RecvExpertOffsets);
        int* messageRows = (int*)(state + h.RecvMessageRows) + ((((long)s * _maxTokens) + i) * k);
        // Per-rank combine partials weigh each message's local slots on this rank: their weights are kept per message.
        float* messageWeights = c.CombinesPartials ? (float*)(state + h.RecvTopKWeights) + ((((long)s * _maxTokens) + i) * k) : null;
        int* msgSlots = (int*)(message + MessageHeader.SlotPositions(k));
        for (int slot = 0; slot < k; slot++)
        {
            int position = msgSlots[slot];
            int l = msgIds[slot] - (_rank * _localExperts);
            messageRows[slot] = -1;
            if (messageWeights != null) messageWeights[slot] = 0f;
            if (position < 0 || l < 0 || l >= _localExperts) continue;
            int j = sourceOffsets[(l * _worldSize) + s] + position;
            long index = (long)expertOffsets[l] + j;
            if (j >= (packed ? expertCounts[l] : capacity) || index >= h.ReceiveRows) continue;
            if (scaleByWeight) ScaleRow<TElement>(payload, OutputRow(in args, index), msgWeights[slot]);
            else CopyPayload(in args, payload, index);
            WriteSourceInfo(sourceInfo, index, s, token, slot);
            messageRows[slot] = (int)index;
            if (messageWeights != null) messageWeights[slot] = msgWeights[slot];
        }
    }

    /// <summary>Whether <paramref name="rows"/> lies in this rank's window: the rank-major rows of zero-copy receive (EpGroup.WindowReceiveRows).</summary>
    private bool InWindow(nint rows) => (byte*)rows >= _window && (byte*)rows < _window + _layout.TotalBytes;

    /// <summary>
    /// A message's payload into dispatch-output row <paramref name="index"/>: the row as it is, or for an FP8 dispatch its
    /// FP8 channels into the rows and its scale words into the scales tensor.
    /// </summary>
    private void CopyPayload(ref readonly EpLaunchArgs args, byte* payload, long index)
    {
        if (args.Quantization == EpDispatchQuantization.None)
        {
            Buffer.MemoryCopy(payload, OutputRow(in args, index), _layout.RowBytes, _layout.RowBytes);
            return;
        }
        Buffer.MemoryCopy(payload, OutputRow(in args, index), _hidden, _hidden);
        uint* words = (uint*)(payload + _hidden);
        byte* scales = ScalesOfRow(in args, index);
        for (int w = 0; w < _fabric.Config.ScaleColumns; w++) *(uint*)(scales + (w * args.ScalesColumnStride)) = words[w];
    }

    /// <summary>Dispatch-output row <paramref name="index"/> (the numbering of the source info): (block, row in block) of the 3-D layouts, or (0, index).</summary>
    private (long Block, long Row) Split(long index)
    {
        EpConfig c = _fabric.Config;
        if (c.Layout == EpLayout.ExpertMajor && c.Mode == EpMode.LowLatency)
        {
            long capacity = (long)_worldSize * _maxTokens, l = index / capacity;
            return (l, index - (l * capacity));
        }
        if (c.Layout == EpLayout.RankMajor)
        {
            long s = index / _maxTokens;
            return (s, index - (s * _maxTokens));
        }
        return (0, index);
    }

    /// <summary>Dispatch-output row <paramref name="index"/> in the caller's rows tensor.</summary>
    private byte* OutputRow(ref readonly EpLaunchArgs args, long index)
    {
        (long block, long row) = Split(index);
        return (byte*)args.Rows + (block * args.RowsStride0) + (row * args.RowsStride1);
    }

    /// <summary>The scale of row <paramref name="index"/> in column 0 of an FP8 dispatch's scales (column c is c column strides on).</summary>
    private byte* ScalesOfRow(ref readonly EpLaunchArgs args, long index)
    {
        (long block, long row) = Split(index);
        return (byte*)args.Scales + (block * args.ScalesStride0) + (row * sizeof(uint));
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
                ZeroRow(in args, index);
                WriteSourceInfo(sourceInfo, index, -1, -1, -1);
            }
        }
    }

    /// <summary>A padding row: zeros, and for an FP8 dispatch the scales of an all-zero row.</summary>
    private void ZeroRow(ref readonly EpLaunchArgs args, long index)
    {
        if (args.Quantization == EpDispatchQuantization.None)
        {
            new Span<byte>(OutputRow(in args, index), _layout.RowBytes).Clear();
            return;
        }
        new Span<byte>(OutputRow(in args, index), _hidden).Clear();
        byte* scales = ScalesOfRow(in args, index);
        uint word = RowQuantizer.ZeroRowScaleWord(args.Quantization);
        for (int w = 0; w < _fabric.Config.ScaleColumns; w++) *(uint*)(scales + (w * args.ScalesColumnStride)) = word;
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
