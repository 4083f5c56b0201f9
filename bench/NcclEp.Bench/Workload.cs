using System;
using System.Runtime.InteropServices;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>
/// Host copies of every rank's batch, generated from the seed: each token picks <c>topK</c> distinct experts
/// uniformly, with weights in [0.05, 1); token rows are random values of magnitude [0.5, 2) with random signs
/// (never zero), exactly representable in bf16 for both dtypes.
/// </summary>
internal sealed class Workload
{
    private readonly int[][] _ids;
    private readonly float[][] _weights;
    private readonly byte[][] _tokens;

    private Workload(in EpConfig config, int ranks)
    {
        Config = config;
        Ranks = ranks;
        _ids = new int[ranks][];
        _weights = new float[ranks][];
        _tokens = new byte[ranks][];
    }

    public EpConfig Config { get; }
    public int Ranks { get; }
    public int Tokens => Config.MaxTokensPerRank;
    public int TopK => Config.TopK;
    public int Hidden => Config.Hidden;
    public int RowBytes => Config.RowBytes;
    public int LocalExperts => Config.LocalExperts(Ranks);

    /// <summary><c>[tokens × topK]</c> expert ids of <paramref name="rank"/>.</summary>
    public ReadOnlySpan<int> Ids(int rank) => _ids[rank];

    /// <summary><c>[tokens × topK]</c> weights of <paramref name="rank"/>.</summary>
    public ReadOnlySpan<float> Weights(int rank) => _weights[rank];

    /// <summary><c>[tokens × hidden]</c> token rows of <paramref name="rank"/>, in the config's dtype.</summary>
    public ReadOnlySpan<byte> TokenBytes(int rank) => _tokens[rank];

    /// <summary>Row <paramref name="token"/> of <paramref name="rank"/>, raw bytes.</summary>
    public ReadOnlySpan<byte> Row(int rank, int token) => _tokens[rank].AsSpan(token * RowBytes, RowBytes);

    /// <summary>Σ of the token's weights in slot order, in fp32.</summary>
    public float WeightSum(int rank, int token)
    {
        float sum = 0;
        ReadOnlySpan<float> w = Weights(rank).Slice(token * TopK, TopK);
        for (int k = 0; k < w.Length; k++) sum += w[k];
        return sum;
    }

    public static Workload Generate(in EpConfig config, int ranks, int seed)
    {
        var work = new Workload(config, ranks);
        int m = config.MaxTokensPerRank, k = config.TopK, h = config.Hidden;
        var pool = new int[config.NumExperts];
        for (int r = 0; r < ranks; r++)
        {
            var random = new Random(unchecked((seed * 7919) + (r * 104_729) + 17));
            var ids = new int[m * k];
            var weights = new float[m * k];
            for (int t = 0; t < m; t++)
            {
                for (int e = 0; e < pool.Length; e++) pool[e] = e;
                for (int slot = 0; slot < k; slot++)
                {
                    int pick = slot + random.Next(pool.Length - slot);
                    (pool[slot], pool[pick]) = (pool[pick], pool[slot]);
                    ids[(t * k) + slot] = pool[slot];
                    weights[(t * k) + slot] = 0.05f + (0.95f * random.NextSingle());
                }
            }

            var rows = new byte[(long)m * h * config.DataType.SizeInBytes()];
            if (config.DataType == EpDataType.BFloat16)
            {
                Span<ushort> bits = MemoryMarshal.Cast<byte, ushort>(rows.AsSpan());
                for (int i = 0; i < bits.Length; i++) bits[i] = BFloat16.RoundBits(RandomValue(random));
            }
            else
            {
                Span<float> values = MemoryMarshal.Cast<byte, float>(rows.AsSpan());
                for (int i = 0; i < values.Length; i++) values[i] = BFloat16.FromSingle(RandomValue(random)).ToSingle();
            }
            work._ids[r] = ids;
            work._weights[r] = weights;
            work._tokens[r] = rows;
        }
        return work;
    }

    /// <summary>
    /// A batch with the given routing (<c>[rank][tokens × topK]</c> expert ids, -1 for none), equal weights and
    /// zero token rows: for accounting that depends on the routing alone (<see cref="Traffic"/>).
    /// </summary>
    public static Workload FromRouting(in EpConfig config, int ranks, int[][] ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Length != ranks) throw new ArgumentException($"{ids.Length} routings for {ranks} ranks.", nameof(ids));
        var work = new Workload(config, ranks);
        int m = config.MaxTokensPerRank, k = config.TopK;
        for (int r = 0; r < ranks; r++)
        {
            if (ids[r].Length != m * k) throw new ArgumentException($"rank {r} has {ids[r].Length} ids, not {m} × {k}.", nameof(ids));
            work._ids[r] = (int[])ids[r].Clone();
            work._weights[r] = new float[m * k];
            Array.Fill(work._weights[r], 1f / k);
            work._tokens[r] = new byte[(long)m * config.RowBytes];
        }
        return work;
    }

    private static float RandomValue(Random random)
    {
        float magnitude = 0.5f + (1.5f * random.NextSingle());
        return random.Next(2) == 0 ? magnitude : -magnitude;
    }
}
