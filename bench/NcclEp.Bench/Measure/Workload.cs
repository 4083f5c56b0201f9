using System;
using System.Collections.Generic;
using NcclEp;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>
/// Host copies of every rank's batch (<see cref="RankBatch"/>), generated from the seed by the shared
/// <see cref="BatchGenerator"/>: each of the rank's tokens (<c>MaxTokensPerRank</c>, or its own count of
/// <c>--tokens-per-rank</c>, as few as 0) picks <c>topK</c> distinct experts uniformly (none left out), with weights in
/// [0.05, 1); token rows are random non-zero values the dtype holds exactly.
/// </summary>
internal sealed class Workload
{
    /// <summary>How the bench routes: every slot has an expert; positive weights.</summary>
    public static readonly RoutingStyle Style = new(NoneOneIn: 0, MinWeight: 0.05, MaxWeight: 1.0);

    private readonly RankBatch[] _batches;

    private Workload(in EpConfig config, RankBatch[] batches)
    {
        Config = config;
        _batches = batches;
    }

    public EpConfig Config { get; }
    public int Ranks => _batches.Length;
    /// <summary>The most tokens a rank may have (<c>MaxTokensPerRank</c>): what the buffers are sized for.</summary>
    public int MaxTokens => Config.MaxTokensPerRank;

    /// <summary>The tokens of <paramref name="rank"/>'s own batch (at most <see cref="MaxTokens"/>, maybe 0).</summary>
    public int Tokens(int rank) => _batches[rank].Tokens;

    /// <summary>Every rank's token count, in rank order.</summary>
    public int[] TokenCounts()
    {
        var counts = new int[_batches.Length];
        for (int r = 0; r < counts.Length; r++) counts[r] = _batches[r].Tokens;
        return counts;
    }

    public int TopK => Config.TopK;
    public int Hidden => Config.Hidden;
    public int RowBytes => Config.RowBytes;
    public int LocalExperts => Config.LocalExperts(Ranks);

    /// <summary>Every rank's batch, for the reference model.</summary>
    public IReadOnlyList<RankBatch> Batches => _batches;

    /// <summary><c>[tokens × topK]</c> expert ids of <paramref name="rank"/>.</summary>
    public ReadOnlySpan<int> Ids(int rank) => _batches[rank].Ids;

    /// <summary><c>[tokens × topK]</c> weights of <paramref name="rank"/>.</summary>
    public ReadOnlySpan<float> Weights(int rank) => _batches[rank].Weights;

    /// <summary><c>[tokens × hidden]</c> token rows of <paramref name="rank"/>, in the config's dtype.</summary>
    public ReadOnlySpan<byte> TokenBytes(int rank) => _batches[rank].X;

    /// <summary>Row <paramref name="token"/> of <paramref name="rank"/>, raw bytes.</summary>
    public ReadOnlySpan<byte> Row(int rank, int token) => _batches[rank].XRow(token);

    /// <summary>
    /// Every rank's batch from <paramref name="seed"/>: <paramref name="tokensPerRank"/>[r] tokens for rank r (each at
    /// most MaxTokensPerRank), or MaxTokensPerRank each when null. A rank's routing is its generator's first draws, so
    /// a rank with fewer tokens routes them as the first tokens of a full batch would be routed.
    /// </summary>
    public static Workload Generate(in EpConfig config, int ranks, int seed, IReadOnlyList<int>? tokensPerRank = null)
    {
        if (tokensPerRank is not null && tokensPerRank.Count != ranks)
            throw new ArgumentException($"{tokensPerRank.Count} token counts for {ranks} ranks.", nameof(tokensPerRank));
        var batches = new RankBatch[ranks];
        for (int r = 0; r < ranks; r++)
        {
            int tokens = tokensPerRank?[r] ?? config.MaxTokensPerRank;
            if (tokens < 0 || tokens > config.MaxTokensPerRank)
                throw new ArgumentOutOfRangeException(nameof(tokensPerRank), $"rank {r} has {tokens} tokens, outside 0..{config.MaxTokensPerRank}.");
            var random = new Random(unchecked((seed * 7919) + (r * 104_729) + 17));
            batches[r] = BatchGenerator.Uniform(random, config, tokens, Style, gradient: false);
        }
        return new Workload(config, batches);
    }

    /// <summary>
    /// A batch with the given routing (<c>[rank][tokens × topK]</c> expert ids, -1 for none; each rank's tokens are its
    /// ids / topK, at most MaxTokensPerRank), equal weights and zero token rows: for accounting that depends on the
    /// routing alone (<see cref="Traffic"/>).
    /// </summary>
    public static Workload FromRouting(in EpConfig config, int ranks, int[][] ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Length != ranks) throw new ArgumentException($"{ids.Length} routings for {ranks} ranks.", nameof(ids));
        int m = config.MaxTokensPerRank, k = config.TopK;
        var batches = new RankBatch[ranks];
        for (int r = 0; r < ranks; r++)
        {
            if (ids[r].Length % k != 0 || ids[r].Length > m * k)
                throw new ArgumentException($"rank {r} has {ids[r].Length} ids, not a multiple of {k} up to {m} × {k}.", nameof(ids));
            batches[r] = new RankBatch(ids[r].Length / k, k, config.Hidden, config.DataType, gradient: false);
            ids[r].CopyTo(batches[r].Ids, 0);
            Array.Fill(batches[r].Weights, 1f / k);
        }
        return new Workload(config, batches);
    }
}
