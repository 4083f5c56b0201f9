using System;
using NcclEp.Backend;

namespace NcclEp.Host;

/// <summary>
/// Expert-major per-rank combine partials (<see cref="EpCombineReduction.PerRank"/>, ep_combine.cu under
/// NCCLEP_COMBINE_PER_RANK): for each message (home s, token t) it received, the expert's rank sums the message's local
/// slots in ascending slot order in fp32 — fl(w·y) per term (Combine forward) or y (Dispatch backward) — rounds the
/// partial once to the row type and sends it to (t, this rank) on s. The home rank sums the live ranks' partials in rank
/// order in fp32 and rounds once; its own partial is computed the same way and rounded before it is added, so the result
/// does not depend on which rank is home.
/// </summary>
internal sealed unsafe partial class HostRankBackend
{
    /// <summary>Message <paramref name="i"/> of source <paramref name="s"/>: its partial, rounded, to (token, this rank) on s.</summary>
    private void SendPartial<TElement>(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, int s, int i, int parity, bool weighted)
        where TElement : unmanaged, IRowElement
    {
        int token = MessagePartial<TElement>(state, h, in args, s, i, weighted, _partial);
        if (token < 0) return;
        byte* home = _peers[s] + _layout.CombineRow(parity, token, _rank);
        for (int e = 0; e < _hidden; e++) TElement.Store(home, e, _partial[e]);
    }

    /// <summary>
    /// The fp32 partial of message <paramref name="i"/> from <paramref name="s"/> into <paramref name="partial"/>: its
    /// local slots whose output row's source info is sound (this source, a token in range), ascending. Returns the token
    /// (that of the first such slot), or -1 when the message has none (nothing is sent then).
    /// </summary>
    private int MessagePartial<TElement>(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, int s, int i, bool weighted, float* partial)
        where TElement : unmanaged, IRowElement
    {
        long message = ((long)s * _maxTokens) + i;
        int* rows = (int*)(state + h.RecvMessageRows) + (message * _topK);
        float* weights = (float*)(state + h.RecvTopKWeights) + (message * _topK);
        int* sourceInfo = (int*)(state + h.RecvSourceInfo);
        int token = -1;
        new Span<float>(partial, _hidden).Clear();
        for (int slot = 0; slot < _topK; slot++)
        {
            int index = rows[slot];
            if (index < 0) continue;
            int* info = sourceInfo + ((long)index * 3);
            if (info[0] != s || info[1] < 0 || info[1] >= _maxTokens) continue;
            if (token < 0) token = info[1];
            byte* y = OutputRow(in args, index);
            Accumulate<TElement>(partial, y, weights[slot], weighted);
        }
        return token;
    }

    /// <summary>partial += fl(w·y) (weighted) or y, element by element, each operation rounded to fp32 (no fused multiply-add).</summary>
    private void Accumulate<TElement>(float* partial, byte* y, float w, bool weighted) where TElement : unmanaged, IRowElement
    {
        if (weighted)
        {
            for (int e = 0; e < _hidden; e++) partial[e] += w * TElement.Load(y, e);
        }
        else
        {
            for (int e = 0; e < _hidden; e++) partial[e] += TElement.Load(y, e);
        }
    }

    /// <summary>out[t] = Σ over live ranks r holding some of t's experts, in rank order, of r's rounded partial; fp32, rounded once.</summary>
    private void ReducePartials<TElement>(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, int parity, bool weighted)
        where TElement : unmanaged, IRowElement
    {
        int* rankPositions = (int*)(state + h.RankPositions);
        float* acc = _accumulator;
        for (int t = 0; t < args.NumTokens; t++)
        {
            new Span<float>(acc, _hidden).Clear();
            for (int r = 0; r < _worldSize; r++)
            {
                int position = rankPositions[(t * _worldSize) + r];
                if (position < 0 || ActiveMask[r] == 0) continue;
                if (r != _rank)
                {
                    byte* y = _window + _layout.CombineRow(parity, t, r);
                    for (int e = 0; e < _hidden; e++) acc[e] += TElement.Load(y, e);
                }
                else if (MessagePartial<TElement>(state, h, in args, _rank, position, weighted, _partial) >= 0)
                {
                    for (int e = 0; e < _hidden; e++) acc[e] += TElement.Round(_partial[e]);
                }
            }
            byte* home = (byte*)args.Home + (t * args.HomeRowStride);
            for (int e = 0; e < _hidden; e++) TElement.Store(home, e, acc[e]);
        }
    }
}
