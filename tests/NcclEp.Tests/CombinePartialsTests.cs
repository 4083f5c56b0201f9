using System;
using System.Threading;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace NcclEp.Tests;

/// <summary>
/// Expert-major combine with per-rank partials (<see cref="EpCombineReduction.PerRank"/>) on the Host backend: randomized
/// round trips (forward and backward) in both modes, both dtypes and 1 to 4 ranks match the reference model bit for bit,
/// with and without a masked rank; and in bf16 the partials' extra rounding is visible, so the reference tells the two
/// reductions apart.
/// </summary>
public class CombinePartialsTests(RankThreadPool pool, ITestOutputHelper output) : IClassFixture<RankThreadPool>
{
    private const int ConfigsPerRow = 4, CasesPerConfig = 16;

    public static TheoryData<EpMode, int, EpDataType, int> Rows()
    {
        var data = new TheoryData<EpMode, int, EpDataType, int>();
        foreach ((EpMode mode, int alignment) in new[] { (EpMode.LowLatency, 1), (EpMode.HighThroughput, 1), (EpMode.HighThroughput, 16) })
        {
            foreach (EpDataType type in new[] { EpDataType.BFloat16, EpDataType.Float32 })
            {
                for (int world = 1; world <= 4; world++) data.Add(mode, alignment, type, world);
            }
        }
        return data;
    }

    private static EpConfig Config(Random rng, EpMode mode, int alignment, EpDataType type, int world) =>
        CaseGenerator.Config(rng, mode, EpLayout.ExpertMajor, type, alignment, world) with { CombineReduction = EpCombineReduction.PerRank };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Round_trips_with_per_rank_partials_match_the_reference_bit_for_bit(EpMode mode, int alignment, EpDataType dataType, int worldSize)
    {
        RankThreads threads = pool.For(worldSize);
        int cases = 0;
        for (int i = 0; i < ConfigsPerRow; i++)
        {
            int seed = CaseGenerator.Seed(41, (int)mode, alignment, (int)dataType, worldSize, i);
            var rng = new Random(seed);
            EpConfig config = Config(rng, mode, alignment, dataType, worldSize);
            using var world = new RoundTripWorld(threads, config, CaseGenerator.Shape(rng, config));
            cases += world.RunCases(seed, CasesPerConfig);
        }
        Assert.Equal(ConfigsPerRow * CasesPerConfig, cases);
        output.WriteLine($"{cases} randomized per-rank-partial round trips");
    }

    [Theory]
    [InlineData(EpMode.LowLatency, 1, EpDataType.BFloat16)]
    [InlineData(EpMode.LowLatency, 1, EpDataType.Float32)]
    [InlineData(EpMode.HighThroughput, 4, EpDataType.BFloat16)]
    [InlineData(EpMode.HighThroughput, 4, EpDataType.Float32)]
    public void A_masked_rank_sends_no_partial_and_the_others_combine_without_it(EpMode mode, int alignment, EpDataType dataType)
    {
        const int world = 4;
        int seed = CaseGenerator.Seed(42, (int)mode, (int)dataType);
        EpConfig config = Config(new Random(seed), mode, alignment, dataType, world);
        config = config with { MaxTokensPerRank = Math.Max(config.MaxTokensPerRank, 4) };
        var routedToRank3 = new int[1];
        using var run = new RoundTripWorld(pool.For(world), config, CaseGenerator.Shape(new Random(seed), config), [true, true, true, false])
        {
            OnChecked = result =>
            {
                Assert.NotEqual(3, result.Rank);
                for (int t = 0; t < result.Model.Batch(result.Rank).Tokens; t++)
                {
                    if (result.Model.SentTo(result.Rank, t, 3)) Interlocked.Increment(ref routedToRank3[0]);
                }
            },
        };
        Assert.Equal(30, run.RunCases(seed, 30));
        Assert.True(routedToRank3[0] > 0, "no token was routed to the masked rank: the test proved nothing");
    }

    [Fact]
    public void Bf16_partials_round_differently_from_per_slot_sums_and_the_reference_tells_them_apart()
    {
        // Two ranks, every token on several experts of each: a per-rank partial rounds to bf16 before the home sum.
        const int world = 2;
        EpConfig perRank = new EpConfig(EpMode.LowLatency, NumExperts: 8, Hidden: 512, TopK: 6, MaxTokensPerRank: 8, EpLayout.ExpertMajor)
        {
            CombineReduction = EpCombineReduction.PerRank,
        };
        var rng = new Random(43);
        var batches = new RankBatch[world];
        for (int r = 0; r < world; r++) batches[r] = BatchGenerator.Uniform(rng, perRank, perRank.MaxTokensPerRank, new RoutingStyle(0, 0.1, 1.0));
        var partials = new ReferenceModel(perRank, world, batches);
        var perSlot = new ReferenceModel(perRank with { CombineReduction = EpCombineReduction.PerSlot }, world, batches);
        int differing = 0;
        for (int home = 0; home < world; home++)
        {
            uint[] a = partials.Combined(home), b = perSlot.Combined(home);
            for (int i = 0; i < a.Length; i++) differing += a[i] != b[i] ? 1 : 0;
        }
        Assert.True(differing > 0, "per-rank partials gave the per-slot bits everywhere: the round trips could not tell the reductions apart");
        output.WriteLine($"{differing} bf16 elements differ between the two reductions");
    }
}
