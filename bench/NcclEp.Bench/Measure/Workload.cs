using System;
using System.Collections.Generic;
using NcclEp;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>
/// Host copies of every rank's batch (<see cref="RankBatch"/>), generated from the seed by the shared
/// <see cref="BatchGenerator"/>: each of the <c>MaxTokensPerRank</c> tokens picks <c>topK</c> distinct experts uniformly
/// (none left out), with weights in [0.05, 1); token rows are random non-zero values the dtype holds exactly.
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
    public int Tokens => Config.MaxTokensPerRank;
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

    public static Workload Generate(in EpConfig config, int ranks, int seed)
    {
        var batches = new RankBatch[ranks];
        for (int r = 0; r < ranks; r++)
        {
            var random = new Random(unchecked((seed * 7919) + (r * 104_729) + 17));
            batches[r] = BatchGenerator.Uniform(random, config, config.MaxTokensPerRank, Style, gradient: false);
        }
        return new Workload(config, batches);
    }

    /// <summary>
    /// A batch with the given routing (<c>[rank][tokens × topK]</c> expert ids, -1 for none), equal weights and
    /// zero token rows: for accounting that depends on the routing alone (<see cref="Traffic"/>).
    /// </summary>
    public static Workload FromRouting(in EpConfig config, int ranks, int[][] ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Length != ranks) throw new ArgumentException($"{ids.Length} routings for {ranks} ranks.", nameof(ids));
        int m = config.MaxTokensPerRank, k = config.TopK;
        var batches = new RankBatch[ranks];
        for (int r = 0; r < ranks; r++)
        {
            if (ids[r].Length != m * k) throw new ArgumentException($"rank {r} has {ids[r].Length} ids, not {m} × {k}.", nameof(ids));
            batches[r] = new RankBatch(m, k, config.Hidden, config.DataType, gradient: false);
            ids[r].CopyTo(batches[r].Ids, 0);
            Array.Fill(batches[r].Weights, 1f / k);
        }
        return new Workload(config, batches);
    }
}
