using System;
using System.Threading;
using NcclEp.Backend;

namespace NcclEp.Host;

/// <summary>
/// The dispatch route (Dispatch forward, Combine backward), with the kernels' protocol (ep_dispatch.cu): first every
/// live destination gets this rank's counts and count flag (which is also its presence), then the messages in chunks,
/// each chunk followed by its flag; the receive half waits for every live source's count flag, then for each chunk's
/// flag before it lays out that chunk's messages. A send (<see cref="EpHalf.Send"/>) runs the first part and returns; its
/// complete (<see cref="EpHalf.Receive"/>) runs the receive half, where the kernels split.
/// </summary>
internal sealed unsafe partial class HostRankBackend
{
    public void Dispatch(EpHandle handle, ref readonly EpLaunchArgs args)
    {
        BeginCall();
        if (args.Routing && args.Half != EpHalf.Receive) Route(handle, in args);  // Update, then the dispatch
        if (args.Pass == EpPass.Forward) RunDispatchRoute(handle, in args, scaleByWeight: false);
        else RunCombineRoute(handle, in args, weighted: false);
    }

    private void RunDispatchRoute(EpHandle handle, ref readonly EpLaunchArgs args, bool scaleByWeight)
    {
        if (_fabric.Config.DataType == EpDataType.BFloat16) RunDispatchRoute<Bf16Element>(handle, in args, scaleByWeight);
        else RunDispatchRoute<F32Element>(handle, in args, scaleByWeight);
    }

    private void RunDispatchRoute<TElement>(EpHandle handle, ref readonly EpLaunchArgs args, bool scaleByWeight)
        where TElement : unmanaged, IRowElement
    {
        HandleLayout h = handle.Layout;
        byte* state = (byte*)handle.State;
        (bool send, bool receive) = (args.Half != EpHalf.Receive, args.Half != EpHalf.Send);
        uint sequence = NextSequence(DispatchSequence, receive);
        int parity = (int)(sequence & 1);

        // An FP8 dispatch writes smaller messages (FP8 row + scales) at their own stride in the same slots.
        int messageBytes = args.Quantization == EpDispatchQuantization.None ? _layout.MessageBytes : _layout.QuantizedMessageBytes;

        if (send)
        {
            PublishCounts(state, h, sequence, parity);
            Phase(HostPhase.CountsPublished);
            SendMessageChunks<TElement>(state, h, in args, sequence, parity, messageBytes);
        }
        if (!receive) return;
        Phase(HostPhase.ReceiveStart);

        long deadline = Deadline;
        ReceiveCounts(state, h, sequence, parity, deadline);
        ComputeReceiveOffsets(state, h, parity);
        LayOutRows<TElement>(state, h, in args, sequence, parity, deadline, scaleByWeight, messageBytes);
    }

    /// <summary>
    /// The operation's sequence number: the route's count + 1. The count advances when the receive half begins (the
    /// kernels store it when their receive half ends; only this rank reads it, and a Host call runs on one thread), so a
    /// send and its complete read the same number.
    /// </summary>
    private static uint NextSequence(uint* count, bool receive) => receive ? ++*count : *count + 1;

    /// <summary>Each live destination's per-expert counts, then its count flag (sequence &lt;&lt; 32 | tokens).</summary>
    private void PublishCounts(byte* state, HandleLayout h, uint sequence, int parity)
    {
        int* rankCounts = (int*)(state + h.SendRankCounts);
        int* expertCounts = (int*)(state + h.SendExpertCounts);
        for (int r = 0; r < _worldSize; r++)
        {
            if (ActiveMask[r] == 0) continue;
            int* counts = (int*)(_peers[r] + _layout.ExpertCount(parity, _rank));
            for (int l = 0; l < _localExperts; l++) counts[l] = expertCounts[(r * _localExperts) + l];
        }
        for (int r = 0; r < _worldSize; r++)
        {
            if (ActiveMask[r] == 0) continue;
            ulong word = ((ulong)sequence << 32) | (uint)rankCounts[r];
            Volatile.Write(ref *(ulong*)(_peers[r] + _layout.DispatchFlag(parity, _rank)), word);
        }
    }

    /// <summary>(chunk, destination) in chunk order, as the sending blocks take them: the chunk's messages, then its flag.</summary>
    private void SendMessageChunks<TElement>(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, uint sequence, int parity, int messageBytes)
        where TElement : unmanaged, IRowElement
    {
        int* rankCounts = (int*)(state + h.SendRankCounts);
        int* sendTokens = (int*)(state + h.SendTokens);
        int chunks = _chunks.Count(_maxTokens);
        for (int c = 0; c < chunks; c++)
        {
            for (int r = 0; r < _worldSize; r++)
            {
                int n = Math.Min(rankCounts[r], _maxTokens);
                if (ActiveMask[r] == 0 || n <= 0 || c >= _chunks.Count(n)) continue;
                int end = _chunks.Begin(n, c + 1);
                for (int slot = _chunks.Begin(n, c); slot < end; slot++)
                    WriteMessage<TElement>(state, h, in args, r, slot, sendTokens[((long)r * _maxTokens) + slot], parity, messageBytes);
                Volatile.Write(ref *(ulong*)(_peers[r] + _layout.ChunkFlag(parity, _rank, c)), (ulong)sequence << 32);
                Phase(HostPhase.MessageChunkSent);
            }
        }
    }

    /// <summary>
    /// Message <paramref name="slot"/> to rank <paramref name="r"/>: token t's header (its top-k, and the slot positions of
    /// r's experts) and row, or for an FP8 dispatch the row quantized (FP8 channels, then scales). An unquantized message to
    /// this rank itself carries only its header: the receive half reads the row from home, as the kernels do (an FP8 one
    /// carries its quantized row, so every receiver reads FP8 rows and scales from messages).
    /// </summary>
    private void WriteMessage<TElement>(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, int r, int slot, int t, int parity, int messageBytes)
        where TElement : unmanaged, IRowElement
    {
        int k = _topK;
        int* ids = (int*)(state + h.TopKIds);
        float* weights = (float*)(state + h.TopKWeights);
        int* slotPositions = (int*)(state + h.SlotPositions);
        byte* message = _peers[r] + _layout.Message(parity, _rank, slot, messageBytes);
        *(int*)(message + MessageHeader.Token) = t;
        int* msgIds = (int*)(message + MessageHeader.TopKIds);
        float* msgWeights = (float*)(message + MessageHeader.TopKWeights(k));
        int* msgSlots = (int*)(message + MessageHeader.SlotPositions(k));
        for (int i = 0; i < k; i++)
        {
            int e = ids[(t * k) + i];
            msgIds[i] = e;
            msgWeights[i] = weights[(t * k) + i];
            msgSlots[i] = e >= 0 && e / _localExperts == r ? slotPositions[(t * k) + i] : -1;
        }
        byte* row = (byte*)args.Home + (t * args.HomeRowStride);
        if (args.Quantization != EpDispatchQuantization.None)
        {
            RowQuantizer.Quantize<TElement>(row, message + _layout.HeaderBytes, _hidden, args.Quantization);
            return;
        }
        if (r == _rank) return;
        int rowBytes = _layout.RowBytes;
        Buffer.MemoryCopy(row, message + _layout.HeaderBytes, rowBytes, rowBytes);
    }

    /// <summary>Every live source's count flag for this operation (masked sources count 0).</summary>
    private void ReceiveCounts(byte* state, HandleLayout h, uint sequence, int parity, long deadline)
    {
        int* recvRankCounts = (int*)(state + h.RecvRankCounts);
        for (int s = 0; s < _worldSize; s++)
        {
            if (ActiveMask[s] == 0)
            {
                recvRankCounts[s] = 0;
                continue;
            }
            ulong* flag = (ulong*)(_window + _layout.DispatchFlag(parity, s));
            if (!PeerWait.TryWaitSequence(flag, sequence, deadline, out ulong word))
                FailWait(s, EpPhase.DispatchReceive, sequence);
            recvRankCounts[s] = Math.Min((int)(uint)word, _maxTokens);
        }
    }

    /// <summary>Per-expert counts, (expert, source) offsets, segment starts and rows in use.</summary>
    private void ComputeReceiveOffsets(byte* state, HandleLayout h, int parity)
    {
        int* expertCounts = (int*)(state + h.RecvExpertCounts);
        int* sourceOffsets = (int*)(state + h.RecvSourceOffsets);
        int* expertOffsets = (int*)(state + h.RecvExpertOffsets);
        int* rankCounts = (int*)(state + h.RecvRankCounts);
        int alignment = _fabric.Config.ExpertAlignment;
        bool packed = _fabric.Config.Mode == EpMode.HighThroughput;
        long capacity = (long)_worldSize * _maxTokens;

        int segment = 0, used = 0;
        for (int l = 0; l < _localExperts; l++)
        {
            int running = 0;
            for (int s = 0; s < _worldSize; s++)
            {
                sourceOffsets[(l * _worldSize) + s] = running;
                if (ActiveMask[s] != 0) running += Math.Clamp(((int*)(_window + _layout.ExpertCount(parity, s)))[l], 0, _maxTokens);
            }
            expertCounts[l] = running;
            expertOffsets[l] = packed ? segment : (int)(l * capacity);
            segment += (running + alignment - 1) / alignment * alignment;
            used += running;
        }
        expertOffsets[_localExperts] = packed ? segment : (int)(_localExperts * capacity);

        int total = 0;
        for (int s = 0; s < _worldSize; s++) total += rankCounts[s];
        *(int*)(state + h.RecvTotal) = _fabric.Config.Layout == EpLayout.ExpertMajor ? (packed ? segment : used) : total;
    }
}
