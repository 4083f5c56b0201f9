using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests;

/// <summary>Round trips against plain arithmetic (Σ w·(x·a + b) within rounding), run-to-run reproducibility, and bf16 rounding.</summary>
public class RoundTripAccuracyTests(RankThreadPool pool) : IClassFixture<RankThreadPool>
{
    public static TheoryData<EpMode, EpLayout, int, EpDataType> Kinds()
    {
        var data = new TheoryData<EpMode, EpLayout, int, EpDataType>();
        foreach (EpDataType type in new[] { EpDataType.BFloat16, EpDataType.Float32 })
        {
            data.Add(EpMode.LowLatency, EpLayout.ExpertMajor, 1, type);
            data.Add(EpMode.LowLatency, EpLayout.RankMajor, 1, type);
            data.Add(EpMode.HighThroughput, EpLayout.Flat, 1, type);
            data.Add(EpMode.HighThroughput, EpLayout.ExpertMajor, 16, type);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Combine_of_distinct_experts_returns_the_weighted_sum_of_their_outputs_within_rounding(
        EpMode mode, EpLayout layout, int alignment, EpDataType dataType)
    {
        const int world = 4;
        // Plain double arithmetic: out[t] = Σ_k w_k·(x·a_k + b_k). bf16 rounds each expert's output (expert-major) or
        // each rank's partial sum, then the total, each by at most 2^-8 relative: within 2^-7 of Σ_k |w_k·(x·a_k + b_k)|
        // (plus fp32 rounding); allow 2^-6. fp32: K ≤ 32 roundings of 2^-24 each; allow 2^-16.
        double tolerance = dataType == EpDataType.BFloat16 ? Math.ScaleB(1, -6) : Math.ScaleB(1, -16);
        var worst = new ConcurrentBag<double>();
        var failures = new ConcurrentQueue<string>();
        var rng = new Random(CaseGenerator.Seed(11, (int)mode, (int)layout, (int)dataType));
        EpConfig config = CaseGenerator.Config(rng, mode, layout, dataType, alignment, world);
        using var run = new RoundTripWorld(pool.For(world), config, CaseGenerator.Shape(rng, config))
        {
            PositiveWeights = true,
            OnChecked = result =>
            {
                (int rank, ReferenceModel model, uint[] combined) = (result.Rank, result.Model, result.Combined);
                RankBatch b = model.Batch(rank);
                double local = 0;
                for (int t = 0; t < b.Tokens; t++)
                {
                    for (int e = 0; e < config.Hidden; e++)
                    {
                        double x = b.XAt(t, e), exact = 0, magnitude = 0;
                        for (int k = 0; k < config.TopK; k++)
                        {
                            int id = model.Id(rank, t, k);
                            if (id < 0) continue;
                            double term = model.Weight(rank, t, k) * ((x * AffineExperts.A(id)) + AffineExperts.B(id));
                            exact += term;
                            magnitude += Math.Abs(term);
                        }
                        double got = Numerics.Decode(combined[(t * config.Hidden) + e], dataType);
                        double error = Math.Abs(got - exact);
                        local = Math.Max(local, magnitude == 0 ? error : error / magnitude);
                        if (error > tolerance * magnitude)
                            failures.Enqueue($"rank {rank} token {t} element {e}: {got} vs Σ w·(x·a + b) = {exact}");
                    }
                }
                worst.Add(local);
            },
        };
        Assert.Equal(40, run.RunCases(1000, 40));
        Assert.Empty(failures.Take(5));
        Assert.True(worst.Max() > 0 || dataType == EpDataType.Float32, "bf16 results should show some rounding");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Repeated_round_trips_on_fresh_groups_are_bit_identical_whatever_the_arrival_order(
        EpMode mode, EpLayout layout, int alignment, EpDataType dataType)
    {
        const int world = 3, cases = 12;
        var rng = new Random(CaseGenerator.Seed(12, (int)mode, (int)layout, (int)dataType));
        EpConfig config = CaseGenerator.Config(rng, mode, layout, dataType, alignment, world);
        BufferShape shape = CaseGenerator.Shape(rng, config);
        List<byte[]>[] Run(bool jitter)
        {
            List<byte[]>[] captured = Enumerable.Range(0, world).Select(_ => new List<byte[]>()).ToArray();
            using var run = new RoundTripWorld(pool.For(world), config, shape) { Captured = captured, Jitter = jitter };
            Assert.Equal(cases, run.RunCases(2000, cases));
            return captured;
        }
        List<byte[]>[] first = Run(jitter: false), second = Run(jitter: true);
        for (int r = 0; r < world; r++)
        {
            Assert.Equal(first[r].Count, second[r].Count);
            for (int i = 0; i < first[r].Count; i++)
                Assert.True(first[r][i].AsSpan().SequenceEqual(second[r][i]), $"rank {r}: output {i} differs between runs");
        }
    }

    [Fact]
    public void Library_bf16_rounding_matches_an_independent_round_to_nearest_even()
    {
        var values = new List<float>
        {
            0f, -0f, 1f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, float.PositiveInfinity,
            float.NegativeInfinity, float.NaN, -float.NaN, BitConverter.UInt32BitsToSingle(0x7F800001),
            BitConverter.UInt32BitsToSingle(0x3F808000), BitConverter.UInt32BitsToSingle(0x3F818000),
            BitConverter.UInt32BitsToSingle(0x3F808001), BitConverter.UInt32BitsToSingle(0x7F7F8000),
            BitConverter.UInt32BitsToSingle(0x007F8000), BitConverter.UInt32BitsToSingle(0xBF818000),
        };
        var rng = new Random(5);
        for (int i = 0; i < 200_000; i++) values.Add(BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32)));
        foreach (float v in values)
        {
            uint want = Numerics.RoundToBf16Bits(v);
            Assert.True(want == BFloat16.RoundBits(v), $"0x{BitConverter.SingleToUInt32Bits(v):X8}: expected 0x{want:X4}, got 0x{BFloat16.RoundBits(v):X4}");
            Assert.Equal(Numerics.Bf16ToFloat(want), BFloat16.FromSingle(v).ToSingle());
        }
    }
}
