using System;
using System.Threading;
using NcclEp.Backend;

namespace NcclEp.Host;

/// <summary>
/// The dispatch route (Dispatch forward, Combine backward): each token is written once per destination
/// rank, with its top-k in the message; the receiver lays the rows out in the group's layout.
/// </summary>
internal sealed unsafe partial class HostRankBackend
{
    public void Dispatch(EpHandle handle, ref readonly EpLaunchArgs args)
    {
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
        uint sequence = ++*DispatchSequence;
        int parity = (int)(sequence & 1);

        SendTokens(state, h, in args, sequence, parity);

        int* recvRankCounts = (int*)(state + h.RecvRankCounts);
        long deadline = Deadline;
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
            recvRankCounts[s] = (int)(uint)word;
        }

        ComputeReceiveOffsets(state, h, parity);
        LayOutRows<TElement>(state, h, in args, parity, scaleByWeight);
    }

    /// <summary>Writes every (token, destination rank) message, then each destination's counts and flag.</summary>
    private void SendTokens(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, uint sequence, int parity)
    {
        int k = _topK;
        int* ids = (int*)(state + h.TopkIds);
        float* weights = (float*)(state + h.TopkWeights);
        int* rankPositions = (int*)(state + h.RankPositions);
        int* slotPositions = (int*)(state + h.SlotPositions);
        int header = _layout.HeaderBytes, rowBytes = _layout.RowBytes;

        for (int t = 0; t < args.NumTokens; t++)
        {
            byte* row = (byte*)args.Home + (t * args.HomeRowStride);
            for (int r = 0; r < _worldSize; r++)
            {
                int position = rankPositions[(t * _worldSize) + r];
                if (position < 0 || ActiveMask[r] == 0) continue;
                byte* message = _peers[r] + _layout.Message(parity, _rank, position);
                *(int*)(message + MessageHeader.Token) = t;
                int* msgIds = (int*)(message + MessageHeader.TopkIds);
                float* msgWeights = (float*)(message + MessageHeader.TopkWeights(k));
                int* msgSlots = (int*)(message + MessageHeader.SlotPositions(k));
                for (int slot = 0; slot < k; slot++)
                {
                    int e = ids[(t * k) + slot];
                    msgIds[slot] = e;
                    msgWeights[slot] = weights[(t * k) + slot];
                    msgSlots[slot] = e >= 0 && e / _localExperts == r ? slotPositions[(t * k) + slot] : -1;
                }
                Buffer.MemoryCopy(row, message + header, rowBytes, rowBytes);
            }
        }

        int* rankCounts = (int*)(state + h.SendRankCounts);
        int* expertCounts = (int*)(state + h.SendExpertCounts);
        for (int r = 0; r < _worldSize; r++)
        {
            if (ActiveMask[r] == 0) continue;
            int* counts = (int*)(_peers[r] + _layout.ExpertCount(parity, _rank));
            for (int l = 0; l < _localExperts; l++) counts[l] = expertCounts[(r * _localExperts) + l];
            ulong word = ((ulong)sequence << 32) | (uint)rankCounts[r];
            Volatile.Write(ref *(ulong*)(_peers[r] + _layout.DispatchFlag(parity, _rank)), word);
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
                if (ActiveMask[s] != 0) running += ((int*)(_window + _layout.ExpertCount(parity, s)))[l];
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
