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
/// An independent model of dispatch and combine (plain arrays and LINQ, no code shared with the library):
/// from every rank's inputs it gives each rank's expected layout, counts, metadata, combine output and
/// backward results for identity experts.
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
    public int Id(int s, int t, int k) => _batches[s].Ids[(t * K) + k];
    public float Weight(int s, int t, int k) => _batches[s].Weights[(t * K) + k];
    public int RankOf(int expert) => expert / L;
    public float[] X(int s, int t) => Enumerable.Range(0, H).Select(i => _batches[s].XAt(t, i)).ToArray();
    public float[] Grad(int s, int t) => Enumerable.Range(0, H).Select(i => _batches[s].GradAt(t, i)).ToArray();

    /// <summary>Whether token t of rank s has at least one expert on rank r.</summary>
    public bool SentTo(int s, int t, int r) => Enumerable.Range(0, K).Any(k => Id(s, t, k) >= 0 && RankOf(Id(s, t, k)) == r);

    /// <summary>Rows in the order the layout holds them, with every count, for receiving rank <paramref name="r"/>.</summary>
    public ExpectedReceive Receive(int r)
    {
        int[] sources = Enumerable.Range(0, World).Where(IsActive).ToArray();
        int[] rankCounts = Enumerable.Range(0, World)
            .Select(s => IsActive(s) ? Enumerable.Range(0, _batches[s].Tokens).Count(t => SentTo(s, t, r)) : 0).ToArray();
        var byExpert = Enumerable.Range(0, L).Select(l =>
            (from s in sources
             from t in Enumerable.Range(0, _batches[s].Tokens)
             from k in Enumerable.Range(0, K)
             where Id(s, t, k) == (r * L) + l
             select (s, t, k)).ToArray()).ToArray();
        int[] expertCounts = byExpert.Select(list => list.Length).ToArray();
        var rows = new List<ExpectedRow>();

        if (!PerExpert)
        {
            int flatBase = 0;
            foreach (int s in Enumerable.Range(0, World))
            {
                int[] tokens = IsActive(s) ? Enumerable.Range(0, _batches[s].Tokens).Where(t => SentTo(s, t, r)).ToArray() : [];
                for (int i = 0; i < tokens.Length; i++)
                {
                    long row = Config.Layout == EpLayout.RankMajor ? ((long)s * M) + i : flatBase + i;
                    rows.Add(new ExpectedRow(row, s, tokens[i], -1));
                }
                flatBase += rankCounts[s];
            }
            return new ExpectedReceive(rows.ToArray(), rankCounts, expertCounts, null, rankCounts.Sum());
        }

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
                rows.Add(new ExpectedRow(offsets[l] + j, byExpert[l][j].s, byExpert[l][j].t, byExpert[l][j].k));
            for (int j = count; j < padded; j++) rows.Add(new ExpectedRow(offsets[l] + j, -1, -1, -1));
            next += padded;
        }
        offsets[L] = packed ? next : L * World * M;
        return new ExpectedReceive(rows.ToArray(), rankCounts, expertCounts, offsets, packed ? next : expertCounts.Sum());
    }

    /// <summary>Forward dispatch: the source token's row as element bits (zeros for padding).</summary>
    public byte[] DispatchedBits(ExpectedRow row) => row.IsPadding ? new byte[Config.RowBytes] : _batches[row.Rank].XRow(row.Token).ToArray();

    /// <summary>Forward dispatch: the source token's row (zeros for padding).</summary>
    public float[] DispatchedRow(ExpectedRow row) => row.IsPadding ? new float[H] : X(row.Rank, row.Token);

    /// <summary>Combine backward: w·g rounded once (expert-major) or g (per-rank layouts); zeros for padding.</summary>
    public float[] CombineBackwardRow(ExpectedRow row)
    {
        if (row.IsPadding) return new float[H];
        float[] g = Grad(row.Rank, row.Token);
        if (!PerExpert) return g;
        float w = Weight(row.Rank, row.Token, row.Slot);
        return g.Select(v => Numerics.Round(w * v, Type)).ToArray();
    }

    /// <summary>
    /// What the tests' per-rank "expert" computes on rank r for a row of token (s, t):
    /// Σ over slots k ascending whose expert is on r of w·row, in fp32, rounded once to the row dtype.
    /// </summary>
    public float[] PerRankExpert(IReadOnlyList<float> row, int s, int t, int r)
    {
        var acc = new float[H];
        for (int k = 0; k < K; k++)
        {
            int e = Id(s, t, k);
            if (e < 0 || RankOf(e) != r) continue;
            float w = Weight(s, t, k);
            for (int i = 0; i < H; i++) acc[i] = acc[i] + (w * row[i]);
        }
        return acc.Select(v => Numerics.Round(v, Type)).ToArray();
    }

    /// <summary>Combine forward of identity experts on home rank <paramref name="home"/>: element bits of [T, H].</summary>
    public uint[] Combined(int home) => HomeSum(home, (t, k) =>
        { float w = Weight(home, t, k); return X(home, t).Select(v => w * v).ToArray(); },
        (t, r) => PerRankExpert(X(home, t), home, t, r));

    /// <summary>
    /// Dispatch backward after Combine backward and the identity experts' backward: dx[t] = Σ over the copies
    /// of token t (slot order / rank order) of the gradient each copy carries, in fp32, rounded once.
    /// </summary>
    public uint[] TokenGradient(int home) => HomeSum(home, (t, k) =>
        { float w = Weight(home, t, k); return Grad(home, t).Select(v => Numerics.Round(w * v, Type)).ToArray(); },
        (t, r) => PerRankExpert(Grad(home, t), home, t, r));

    private uint[] HomeSum(int home, Func<int, int, float[]> slotTerm, Func<int, int, float[]> rankTerm)
    {
        int tokens = _batches[home].Tokens;
        var result = new uint[tokens * H];
        for (int t = 0; t < tokens; t++)
        {
            var acc = new float[H];
            if (PerExpert)
            {
                for (int k = 0; k < K; k++)
                {
                    int e = Id(home, t, k);
                    if (e < 0 || !IsActive(RankOf(e))) continue;
                    // Combine forward: the term is w·y rounded to float, then added: acc + w·y, no FMA.
                    float[] term = slotTerm(t, k);
                    for (int i = 0; i < H; i++) acc[i] = acc[i] + term[i];
                }
            }
            else
            {
                for (int r = 0; r < World; r++)
                {
                    if (!SentTo(home, t, r) || !IsActive(r)) continue;
                    float[] term = rankTerm(t, r);
                    for (int i = 0; i < H; i++) acc[i] = acc[i] + term[i];
                }
            }
            for (int i = 0; i < H; i++) result[(t * H) + i] = Numerics.Encode(acc[i], Type);
        }
        return result;
    }
}
