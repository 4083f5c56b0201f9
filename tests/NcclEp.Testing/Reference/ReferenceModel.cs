using System;
using System.Collections.Generic;
using System.Linq;

namespace NcclEp.Testing;

/// <summary>A row the dispatch writes: its flat row index in the layout and where it came from (-1s: padding).</summary>
public readonly record struct ExpectedRow(long Row, int Rank, int Token, int Slot)
{
    public bool IsPadding => Rank < 0;
}

/// <summary>What one rank's dispatch must produce: rows in layout order and every count.</summary>
public sealed record ExpectedReceive(
    ExpectedRow[] Rows, int[] RankCounts, int[] ExpertCounts, int[]? ExpertOffsets, int Total);

/// <summary>
/// An independent model of dispatch and combine (plain arrays and loops, no code shared with the library): from every
/// rank's inputs it gives each rank's expected layout, counts, metadata, combine output and backward results, with the
/// experts of <see cref="AffineExperts"/> (computed here token by token, from their definition). Ranks the mask leaves
/// out send nothing and their experts count for nothing.
/// </summary>
public sealed class ReferenceModel
{
    private readonly RankBatch[] _batches;
    private readonly bool[] _active;

    public ReferenceModel(EpConfig config, int worldSize, IReadOnlyList<RankBatch> batches, IReadOnlyList<bool>? active = null)
    {
        Config = config;
        World = worldSize;
        _batches = batches.ToArray();
        _active = active?.ToArray() ?? Enumerable.Repeat(true, worldSize).ToArray();
    }

    public EpConfig Config { get; }
    public int World { get; }
    private int K => Config.TopK;
    private int H => Config.Hidden;
    private int M => Config.MaxTokensPerRank;
    private int L => Config.NumExperts / World;
    private bool PerExpert => Config.Layout == EpLayout.ExpertMajor;
    private EpDataType Type => Config.DataType;

    public RankBatch Batch(int rank) => _batches[rank];
    public bool IsActive(int rank) => _active[rank];
    public int Id(int s, int t, int k) => _batches[s].Id(t, k);
    public float Weight(int s, int t, int k) => _batches[s].Weight(t, k);
    public int RankOf(int expert) => expert / L;

    /// <summary>Whether token t of rank s has at least one expert on rank r.</summary>
    public bool SentTo(int s, int t, int r)
    {
        for (int k = 0; k < K; k++)
        {
            int e = Id(s, t, k);
            if (e >= 0 && RankOf(e) == r) return true;
        }
        return false;
    }

    /// <summary>Rows in the order the layout holds them, with every count, for receiving rank <paramref name="r"/>.</summary>
    public ExpectedReceive Receive(int r)
    {
        var rankCounts = new int[World];
        var rows = new List<ExpectedRow>();
        long flatBase = 0;
        for (int s = 0; s < World; s++)
        {
            if (!IsActive(s)) continue;
            for (int t = 0; t < _batches[s].Tokens; t++)
            {
                if (!SentTo(s, t, r)) continue;
                int i = rankCounts[s]++;
                if (!PerExpert) rows.Add(new ExpectedRow(Config.Layout == EpLayout.RankMajor ? ((long)s * M) + i : flatBase + i, s, t, -1));
            }
            flatBase += rankCounts[s];
        }

        // Expert-major: each local expert's (token, slot) pairs ordered by source rank, then token.
        var byExpert = new List<(int S, int T, int K)>[L];
        for (int l = 0; l < L; l++) byExpert[l] = [];
        for (int s = 0; s < World; s++)
        {
            if (!IsActive(s)) continue;
            for (int t = 0; t < _batches[s].Tokens; t++)
            {
                for (int k = 0; k < K; k++)
                {
                    int e = Id(s, t, k);
                    if (e >= 0 && RankOf(e) == r) byExpert[e - (r * L)].Add((s, t, k));
                }
            }
        }
        int[] expertCounts = byExpert.Select(list => list.Count).ToArray();
        if (!PerExpert) return new ExpectedReceive(rows.ToArray(), rankCounts, expertCounts, null, rankCounts.Sum());

        bool packed = Config.Mode == EpMode.HighThroughput;
        int alignment = Config.ExpertAlignment;
        int[] offsets = new int[L + 1];
        int next = 0;
        for (int l = 0; l < L; l++)
        {
            offsets[l] = packed ? next : l * World * M;
            int count = expertCounts[l];
            int padded = packed ? (count + alignment - 1) / alignment * alignment : count;
            for (int j = 0; j < count; j++)
                rows.Add(new ExpectedRow(offsets[l] + j, byExpert[l][j].S, byExpert[l][j].T, byExpert[l][j].K));
            for (int j = count; j < padded; j++) rows.Add(new ExpectedRow(offsets[l] + j, -1, -1, -1));
            next += padded;
        }
        offsets[L] = packed ? next : L * World * M;
        return new ExpectedReceive(rows.ToArray(), rankCounts, expertCounts, offsets, packed ? next : expertCounts.Sum());
    }

    /// <summary>
    /// [L][W]: the first row of (local expert l, source s) inside expert l's segment on rank <paramref name="r"/> (the
    /// handle's recvSourceOffsets): the pairs from live sources before s.
    /// </summary>
    public int[] SourceOffsets(int r)
    {
        var offsets = new int[L * World];
        for (int l = 0; l < L; l++)
        {
            int running = 0, expert = (r * L) + l;
            for (int s = 0; s < World; s++)
            {
                offsets[(l * World) + s] = running;
                if (!IsActive(s)) continue;
                for (int t = 0; t < _batches[s].Tokens; t++)
                {
                    for (int k = 0; k < K; k++) running += Id(s, t, k) == expert ? 1 : 0;
                }
            }
        }
        return offsets;
    }

    /// <summary>
    /// Expert-major, per source s: [messages from s × K], the dispatch-output row of each received message's slot on rank
    /// <paramref name="r"/>, -1 where the slot's expert is elsewhere (the handle's recvMessageRows on either backend; message i from s
    /// is the i-th token of s with an expert on r).
    /// </summary>
    public int[][] MessageRows(int r)
    {
        ExpectedReceive expected = Receive(r);
        var rows = new int[World][];
        var message = new int[World][];
        for (int s = 0; s < World; s++)
        {
            rows[s] = Enumerable.Repeat(-1, expected.RankCounts[s] * K).ToArray();
            message[s] = new int[_batches[s].Tokens];
            int i = 0;
            for (int t = 0; t < _batches[s].Tokens; t++) message[s][t] = IsActive(s) && SentTo(s, t, r) ? i++ : -1;
        }
        foreach (ExpectedRow row in expected.Rows)
        {
            if (!row.IsPadding && row.Slot >= 0) rows[row.Rank][(message[row.Rank][row.Token] * K) + row.Slot] = (int)row.Row;
        }
        return rows;
    }

    /// <summary>Forward dispatch: the source token's row as element bits (zeros for padding).</summary>
    public byte[] DispatchedBits(ExpectedRow row) => row.IsPadding ? new byte[Config.RowBytes] : _batches[row.Rank].XRow(row.Token).ToArray();

    /// <summary>Forward dispatch: the source token's row (zeros for padding).</summary>
    public float[] DispatchedRow(ExpectedRow row) => row.IsPadding ? new float[H] : Values(_batches[row.Rank].X, row.Token);

    /// <summary>Combine backward: w·g rounded once (expert-major) or g (per-rank layouts); zeros for padding.</summary>
    public float[] CombineBackwardRow(ExpectedRow row)
    {
        if (row.IsPadding) return new float[H];
        float[] g = Values(_batches[row.Rank].Grad, row.Token);
        if (!PerExpert) return g;
        float w = Weight(row.Rank, row.Token, row.Slot);
        for (int i = 0; i < H; i++) g[i] = Numerics.Round(w * g[i], Type);
        return g;
    }

    /// <summary>Combine forward on home rank <paramref name="home"/>: element bits of [T, H].</summary>
    public uint[] Combined(int home) => HomeSum(home, EpPass.Forward);

    /// <summary>
    /// Dispatch backward after Combine backward and the experts' backward: dx[t] = Σ over the copies of token t (slot
    /// order / rank order) of the gradient each copy carries home, in fp32, rounded once.
    /// </summary>
    public uint[] TokenGradient(int home) => HomeSum(home, EpPass.Backward);

    /// <summary>
    /// Per element of each token: Σ in slot order (expert-major, <see cref="SlotTerm"/>) or live rank order (per-rank
    /// layouts, <see cref="RankTerm"/>; expert-major's per-rank partials, <see cref="PartialTerm"/>) of the term each copy
    /// or rank brings home, in fp32, rounded once.
    /// </summary>
    private uint[] HomeSum(int home, EpPass pass)
    {
        var result = new uint[_batches[home].Tokens * H];
        for (int t = 0; t < _batches[home].Tokens; t++) HomeRow(home, t, pass).CopyTo(result, t * H);
        return result;
    }

    /// <summary>
    /// Token <paramref name="t"/> of <paramref name="home"/>'s combine output (forward) or token gradient (backward),
    /// element bits: what <see cref="Combined"/> or <see cref="TokenGradient"/> hold for that token.
    /// </summary>
    public uint[] HomeRow(int home, int t, EpPass pass)
    {
        RankBatch b = _batches[home];
        float[] x = Values(pass == EpPass.Forward ? b.X : b.Grad, t);
        var acc = new float[H];
        if (PerExpert && Config.CombineReduction == EpCombineReduction.PerRank)
        {
            for (int r = 0; r < World; r++)
            {
                if (SentTo(home, t, r) && IsActive(r)) RowMath.AddTo(acc, PartialTerm(pass, home, t, r, x));
            }
        }
        else if (PerExpert)
        {
            for (int k = 0; k < K; k++)
            {
                int e = Id(home, t, k);
                if (e >= 0 && IsActive(RankOf(e))) RowMath.AddTo(acc, SlotTerm(pass, e, Weight(home, t, k), x));
            }
        }
        else
        {
            for (int r = 0; r < World; r++)
            {
                if (SentTo(home, t, r) && IsActive(r)) RowMath.AddTo(acc, RankTerm(pass, home, t, r, x));
            }
        }
        RowMath.Round(acc, Type);
        var bits = new uint[H];
        for (int i = 0; i < H; i++)
        {
            uint v = BitConverter.SingleToUInt32Bits(acc[i]);
            bits[i] = Type == EpDataType.BFloat16 ? v >> 16 : v;
        }
        return bits;
    }

    /// <summary>
    /// What one (token, slot) copy of an expert-major layout brings home, per element: forward fl(w · dtype(f_e(x)))
    /// (the combine weighs the expert's row); backward dtype(f'_e(dtype(fl(w·g)))) (the expert's backward of the
    /// combine-backward row w·g).
    /// </summary>
    private float[] SlotTerm(EpPass pass, int e, float w, float[] x)
    {
        var term = new float[H];
        if (pass == EpPass.Forward)
        {
            RowMath.Affine(x, AffineExperts.A(e), AffineExperts.B(e), addOffset: true, term);
            RowMath.Round(term, Type);
            RowMath.Scale(term, w);
        }
        else
        {
            x.CopyTo(term, 0);
            RowMath.Scale(term, w);
            RowMath.Round(term, Type);
            RowMath.Affine(term, AffineExperts.A(e), 0f, addOffset: false, term);
            RowMath.Round(term, Type);
        }
        return term;
    }

    /// <summary>
    /// Expert-major with per-rank combine partials: what rank r sends home for token t of <paramref name="home"/>, per
    /// element: Σ over the token's slots ascending whose expert is on r of the <see cref="SlotTerm"/> each brings (fl(w·y)
    /// forward, y backward), in fp32, rounded once to the dtype.
    /// </summary>
    private float[] PartialTerm(EpPass pass, int home, int t, int r, float[] x)
    {
        var acc = new float[H];
        for (int k = 0; k < K; k++)
        {
            int e = Id(home, t, k);
            if (e >= 0 && RankOf(e) == r) RowMath.AddTo(acc, SlotTerm(pass, e, Weight(home, t, k), x));
        }
        RowMath.Round(acc, Type);
        return acc;
    }

    /// <summary>
    /// What rank r's experts write for the (token t of <paramref name="home"/>, r) row of a per-rank layout: per element,
    /// Σ over the token's slots ascending whose expert is on r of fl(w·f(x)) (forward) or fl(w·f'(g)) (backward), in fp32,
    /// rounded once to the dtype.
    /// </summary>
    public float[] RankTerm(EpPass pass, int home, int t, int r, float[] x)
    {
        var acc = new float[H];
        var term = new float[H];
        for (int k = 0; k < K; k++)
        {
            int e = Id(home, t, k);
            if (e < 0 || RankOf(e) != r) continue;
            RowMath.Affine(x, AffineExperts.A(e), AffineExperts.B(e), pass == EpPass.Forward, term);
            RowMath.Scale(term, Weight(home, t, k));
            RowMath.AddTo(acc, term);
        }
        RowMath.Round(acc, Type);
        return acc;
    }

    private float[] Values(byte[] rows, int token)
    {
        var values = new float[H];
        RowMath.Decode(rows.AsSpan(token * Config.RowBytes, Config.RowBytes), Type, values);
        return values;
    }
}
