using System;
using System.Threading;
using NcclEp.Backend;

namespace NcclEp.Host;

/// <summary>
/// The combine route (Combine forward, Dispatch backward): every received row goes back to its source
/// token's slot on the home rank, and the home rank reduces in fp32 in a fixed order — top-k slot order
/// for expert-major, rank order for the per-rank layouts — and rounds once.
/// </summary>
internal sealed unsafe partial class HostRankBackend
{
    public void Combine(EpHandle handle, ref readonly EpLaunchArgs args)
    {
        if (args.Pass == EpPass.Forward) RunCombineRoute(handle, in args, weighted: true);
        else RunDispatchRoute(handle, in args, scaleByWeight: _fabric.Config.Layout == EpLayout.ExpertMajor);
    }

    private void RunCombineRoute(EpHandle handle, ref readonly EpLaunchArgs args, bool weighted)
    {
        if (_fabric.Config.DataType == EpDataType.BFloat16) RunCombineRoute<Bf16Element>(handle, in args, weighted);
        else RunCombineRoute<F32Element>(handle, in args, weighted);
    }

    private void RunCombineRoute<TElement>(EpHandle handle, ref readonly EpLaunchArgs args, bool weighted)
        where TElement : unmanaged, IRowElement
    {
        HandleLayout h = handle.Layout;
        byte* state = (byte*)handle.State;
        uint sequence = ++*CombineSequence;
        int parity = (int)(sequence & 1);

        SendRowsHome(state, h, in args, parity);
        for (int r = 0; r < _worldSize; r++)
        {
            if (ActiveMask[r] == 0) continue;
            Volatile.Write(ref *(ulong*)(_peers[r] + _layout.CombineFlag(parity, _rank)), (ulong)sequence << 32);
        }

        long deadline = Deadline;
        for (int r = 0; r < _worldSize; r++)
        {
            if (ActiveMask[r] == 0) continue;
            ulong* flag = (ulong*)(_window + _layout.CombineFlag(parity, r));
            if (!PeerWait.TryWaitSequence(flag, sequence, deadline, out _))
                FailWait(r, EpPhase.CombineReceive, sequence);
        }

        ReduceHome<TElement>(state, h, in args, parity, weighted && _fabric.Config.Layout == EpLayout.ExpertMajor);
    }

    /// <summary>Copies each received row to (token, slot) — or (token, this rank) — on its source rank.</summary>
    private void SendRowsHome(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, int parity)
    {
        EpConfig c = _fabric.Config;
        int rowBytes = _layout.RowBytes;
        int* sourceInfo = (int*)(state + h.RecvSourceInfo);
        if (c.Layout != EpLayout.ExpertMajor)
        {
            int* rankCounts = (int*)(state + h.RecvRankCounts);
            int flatBase = 0;
            for (int s = 0; s < _worldSize; s++)
            {
                int count = rankCounts[s];
                if (ActiveMask[s] != 0)
                {
                    for (int i = 0; i < count; i++)
                    {
                        long index = c.Layout == EpLayout.RankMajor ? ((long)s * _maxTokens) + i : flatBase + i;
                        byte* src = c.Layout == EpLayout.RankMajor
                            ? (byte*)args.Rows + (s * args.RowsStride0) + (i * args.RowsStride1)
                            : (byte*)args.Rows + (index * args.RowsStride0);
                        int token = sourceInfo[(index * 3) + 1];
                        Buffer.MemoryCopy(src, _peers[s] + _layout.CombineRow(parity, token, _rank), rowBytes, rowBytes);
                    }
                }
                flatBase += count;
            }
            return;
        }

        int* expertCounts = (int*)(state + h.RecvExpertCounts);
        int* expertOffsets = (int*)(state + h.RecvExpertOffsets);
        for (int l = 0; l < _localExperts; l++)
        {
            for (int j = 0; j < expertCounts[l]; j++)
            {
                long index = (long)expertOffsets[l] + j;
                int* info = sourceInfo + (index * 3);
                int s = info[0];
                if (ActiveMask[s] == 0) continue;
                byte* src = c.Mode == EpMode.LowLatency
                    ? (byte*)args.Rows + (l * args.RowsStride0) + (j * args.RowsStride1)
                    : (byte*)args.Rows + (index * args.RowsStride0);
                Buffer.MemoryCopy(src, _peers[s] + _layout.CombineRow(parity, info[1], info[2]), rowBytes, rowBytes);
            }
        }
    }

    /// <summary>out[t] = Σ w·y (expert-major, slot order) or Σ y (per-rank layouts, rank order), fp32, rounded once.</summary>
    private void ReduceHome<TElement>(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, int parity, bool weighted)
        where TElement : unmanaged, IRowElement
    {
        bool perExpert = _fabric.Config.Layout == EpLayout.ExpertMajor;
        int k = _topK;
        int* ids = (int*)(state + h.TopkIds);
        float* weights = (float*)(state + h.TopkWeights);
        int* rankPositions = (int*)(state + h.RankPositions);
        float* acc = _accumulator;

        for (int t = 0; t < args.NumTokens; t++)
        {
            new Span<float>(acc, _hidden).Clear();
            int terms = perExpert ? k : _worldSize;
            for (int slot = 0; slot < terms; slot++)
            {
                if (perExpert)
                {
                    int e = ids[(t * k) + slot];
                    if (e < 0 || ActiveMask[e / _localExperts] == 0) continue;
                }
                else if (rankPositions[(t * _worldSize) + slot] < 0 || ActiveMask[slot] == 0)
                {
                    continue;
                }
                byte* y = _window + _layout.CombineRow(parity, t, slot);
                if (weighted)
                {
                    float w = weights[(t * k) + slot];
                    for (int e = 0; e < _hidden; e++) acc[e] += w * TElement.Load(y, e);
                }
                else
                {
                    for (int e = 0; e < _hidden; e++) acc[e] += TElement.Load(y, e);
                }
            }
            byte* home = (byte*)args.Home + (t * args.HomeRowStride);
            for (int e = 0; e < _hidden; e++) TElement.Store(home, e, acc[e]);
        }
    }
}
