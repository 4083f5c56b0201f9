using System;
using System.Threading;
using NcclEp.Backend;

namespace NcclEp.Host;

/// <summary>
/// The combine route (Combine forward, Dispatch backward), with the kernels' protocol (ep_combine.cu): this rank's
/// presence flag to every live peer first; then each received row goes home to its source token's slot, in the chunks
/// of the messages it answers, each chunk followed by its flag; then the rank waits for every live peer's presence and
/// for every chunk holding its own tokens' rows, and reduces in fp32 in a fixed order — top-k slot order for
/// expert-major, rank order for the per-rank layouts and for expert-major's per-rank partials
/// (HostRankBackend.Partials.cs) — rounding once. Its own rows are read where they are. A send
/// (<see cref="EpHalf.Send"/>) runs the presence and the rows home and returns; its complete (<see cref="EpHalf.Receive"/>)
/// runs the waits and the reduce, where the kernels split.
/// </summary>
internal sealed unsafe partial class HostRankBackend
{
    public void Combine(EpHandle handle, ref readonly EpLaunchArgs args)
    {
        BeginCall();
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
        (bool send, bool receive) = (args.Half != EpHalf.Receive, args.Half != EpHalf.Send);
        uint sequence = NextSequence(CombineSequence, receive);
        int parity = (int)(sequence & 1);
        ComputeFlatBase(state, h);

        if (send)
        {
            for (int r = 0; r < _worldSize; r++)
            {
                if (ActiveMask[r] == 0 || r == _rank) continue;
                Volatile.Write(ref *(ulong*)(_peers[r] + _layout.CombineFlag(parity, _rank)), (ulong)sequence << 32);
            }
            Phase(HostPhase.PresencePublished);
            SendRowChunks<TElement>(state, h, in args, sequence, parity, weighted);
        }
        if (!receive) return;
        Phase(HostPhase.ReduceStart);

        WaitForPeers(state, h, sequence, parity, Deadline);
        if (_fabric.Config.CombinesPartials) ReducePartials<TElement>(state, h, in args, parity, weighted);
        else ReduceHome<TElement>(state, h, in args, parity, weighted && _fabric.Config.Layout == EpLayout.ExpertMajor);
    }

    /// <summary>
    /// (chunk, source) in chunk order, as the sending blocks take them: the rows answering chunk c of source s's
    /// messages go to (token, slot) — or (token, this rank), or one partial per message to (token, this rank) — on s,
    /// then the chunk's flag. This rank's own rows stay.
    /// </summary>
    private void SendRowChunks<TElement>(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, uint sequence, int parity, bool weighted)
        where TElement : unmanaged, IRowElement
    {
        bool partials = _fabric.Config.CombinesPartials;
        int k = _topK;
        bool perExpert = _fabric.Config.Layout == EpLayout.ExpertMajor;
        int* counts = (int*)(state + h.RecvRankCounts);
        int* messageRows = (int*)(state + h.RecvMessageRows);

        int chunks = _chunks.Count(_maxTokens);
        for (int c = 0; c < chunks; c++)
        {
            for (int s = 0; s < _worldSize; s++)
            {
                int n = Math.Min(counts[s], _maxTokens);
                if (ActiveMask[s] == 0 || s == _rank || n <= 0 || c >= _chunks.Count(n)) continue;
                int begin = _chunks.Begin(n, c), end = _chunks.Begin(n, c + 1);
                if (partials)
                {
                    for (int i = begin; i < end; i++) SendPartial<TElement>(state, h, in args, s, i, parity, weighted);
                }
                else if (perExpert)
                {
                    for (long item = (long)begin * k; item < (long)end * k; item++)
                    {
                        int index = messageRows[((long)s * _maxTokens * k) + item];
                        if (index >= 0) SendRow(state, h, in args, index, s, parity);
                    }
                }
                else
                {
                    bool rankMajor = _fabric.Config.Layout == EpLayout.RankMajor;
                    for (int i = begin; i < end; i++) SendRow(state, h, in args, rankMajor ? ((long)s * _maxTokens) + i : _flatBase[s] + i, s, parity);
                }
                Volatile.Write(ref *(ulong*)(_peers[s] + _layout.CombineChunkFlag(parity, _rank, c)), (ulong)sequence << 32);
                Phase(HostPhase.RowChunkSent);
            }
        }
    }

    /// <summary>The first Flat row of each source (from the handle's received counts), which both halves use.</summary>
    private void ComputeFlatBase(byte* state, HandleLayout h)
    {
        int* counts = (int*)(state + h.RecvRankCounts);
        for (int s = 0, at = 0; s <= _worldSize; s++)
        {
            _flatBase[s] = at;
            if (s < _worldSize) at += counts[s];
        }
    }

    /// <summary>Dispatch-output row <paramref name="index"/> home to (token, slot) on source s, if its source info is sound.</summary>
    private void SendRow(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, long index, int s, int parity)
    {
        int* info = (int*)(state + h.RecvSourceInfo) + (index * 3);
        int token = info[1];
        int slot = _fabric.Config.Layout == EpLayout.ExpertMajor ? info[2] : _rank;
        if (info[0] != s || token < 0 || token >= _maxTokens || slot < 0 || slot >= _layout.CombineSlots) return;
        int rowBytes = _layout.RowBytes;
        Buffer.MemoryCopy(OutputRow(in args, index), _peers[s] + _layout.CombineRow(parity, token, slot), rowBytes, rowBytes);
    }

    /// <summary>
    /// Every live peer's presence in this operation (even one that sends this rank no rows: it may not write into this
    /// buffer half again before this rank is done with it), then every chunk of each peer that holds rows of this rank's
    /// tokens — the chunks of the messages this rank sent it, all of which hold some token.
    /// </summary>
    private void WaitForPeers(byte* state, HandleLayout h, uint sequence, int parity, long deadline)
    {
        for (int r = 0; r < _worldSize; r++)
        {
            if (ActiveMask[r] == 0 || r == _rank) continue;
            if (!PeerWait.TryWaitSequence((ulong*)(_window + _layout.CombineFlag(parity, r)), sequence, deadline, out _))
                FailWait(r, EpPhase.CombineReceive, sequence);
        }
        int* sent = (int*)(state + h.SendRankCounts);
        for (int r = 0; r < _worldSize; r++)
        {
            int n = Math.Min(sent[r], _maxTokens);
            if (ActiveMask[r] == 0 || r == _rank || n <= 0) continue;
            for (int c = 0; c < _chunks.Count(n); c++)
            {
                if (!PeerWait.TryWaitSequence((ulong*)(_window + _layout.CombineChunkFlag(parity, r, c)), sequence, deadline, out _))
                    FailWait(r, EpPhase.CombineReceive, sequence);
            }
        }
    }

    /// <summary>out[t] = Σ w·y (expert-major, slot order) or Σ y (per-rank layouts, rank order), fp32, rounded once.</summary>
    private void ReduceHome<TElement>(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, int parity, bool weighted)
        where TElement : unmanaged, IRowElement
    {
        int terms = _fabric.Config.Layout == EpLayout.ExpertMajor ? _topK : _worldSize;
        float* weights = (float*)(state + h.TopKWeights);
        float* acc = _accumulator;

        for (int t = 0; t < args.NumTokens; t++)
        {
            new Span<float>(acc, _hidden).Clear();
            for (int i = 0; i < terms; i++)
            {
                byte* y = TermRow(state, h, in args, parity, t, i);
                if (y == null) continue;
                if (weighted)
                {
                    float w = weights[(t * _topK) + i];
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

    /// <summary>
    /// Term i of home token t (slot i, or rank i): the row holding it, or null when there is none or its rank is masked.
    /// A term computed on this rank is read from the caller's rows (its dispatch-output row), as term_row does.
    /// </summary>
    private byte* TermRow(byte* state, HandleLayout h, ref readonly EpLaunchArgs args, int parity, int t, int i)
    {
        int* rankPositions = (int*)(state + h.RankPositions);
        if (_fabric.Config.Layout == EpLayout.ExpertMajor)
        {
            int e = ((int*)(state + h.TopKIds))[(t * _topK) + i];
            if (e < 0) return null;
            int r = e / _localExperts;
            if (ActiveMask[r] == 0) return null;
            if (r != _rank) return _window + _layout.CombineRow(parity, t, i);
            long message = ((long)_rank * _maxTokens) + rankPositions[(t * _worldSize) + _rank];
            int index = ((int*)(state + h.RecvMessageRows))[(message * _topK) + i];
            return index >= 0 ? OutputRow(in args, index) : null;
        }
        int position = rankPositions[(t * _worldSize) + i];
        if (position < 0 || ActiveMask[i] == 0) return null;
        if (i != _rank) return _window + _layout.CombineRow(parity, t, i);
        return OutputRow(in args, _fabric.Config.Layout == EpLayout.RankMajor ? ((long)_rank * _maxTokens) + position : _flatBase[_rank] + position);
    }
}
