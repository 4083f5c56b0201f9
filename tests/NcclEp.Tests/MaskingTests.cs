using System;
using System.Threading;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests;

/// <summary>
/// Active rank mask: with rank 3 of 4 masked on ranks 0..2 (and making no calls), the others complete, nothing
/// routed to rank 3 is delivered or combined, and rank 3's counts read zero.
/// </summary>
public class MaskingTests(RankThreadPool pool) : IClassFixture<RankThreadPool>
{
    private const int World = 4;
    private static readonly bool[] WithoutRank3 = [true, true, true, false];

    public static TheoryData<EpMode, EpLayout, int, EpDataType> Kinds()
    {
        var data = new TheoryData<EpMode, EpLayout, int, EpDataType>();
        foreach (EpDataType type in new[] { EpDataType.BFloat16, EpDataType.Float32 })
        {
            data.Add(EpMode.LowLatency, EpLayout.ExpertMajor, 1, type);
            data.Add(EpMode.LowLatency, EpLayout.RankMajor, 1, type);
            data.Add(EpMode.HighThroughput, EpLayout.Flat, 1, type);
            data.Add(EpMode.HighThroughput, EpLayout.ExpertMajor, 4, type);
        }
        return data;
    }

    private static EpConfig Config(EpMode mode, EpLayout layout, int alignment, EpDataType type, int seed)
    {
        var rng = new Random(seed);
        EpConfig config = CaseGenerator.Config(rng, mode, layout, type, alignment, World);
        return config with { MaxTokensPerRank = Math.Max(config.MaxTokensPerRank, 4) };
    }

    /// <summary>Asserts rank 3 reads zero rows everywhere, and counts tokens that were routed to rank 3.</summary>
    private static Action<CaseResult> ExpectRank3Silent(int[] routedToRank3) => result =>
    {
        Assert.NotEqual(3, result.Rank);
        Assert.Equal(0, result.AfterDispatch.RankCounts[3]);
        foreach (ExpectedRow row in result.Model.Receive(result.Rank).Rows)
            Assert.NotEqual(3, result.AfterDispatch.SourceInfo[row.Row * 3]);
        for (int t = 0; t < result.Model.Batch(result.Rank).Tokens; t++)
        {
            if (result.Model.SentTo(result.Rank, t, 3)) Interlocked.Increment(ref routedToRank3[0]);
        }
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Ranks_masking_rank_3_complete_without_it_and_combine_ignores_its_experts(
        EpMode mode, EpLayout layout, int alignment, EpDataType dataType)
    {
        int seed = CaseGenerator.Seed(31, (int)mode, (int)layout, (int)dataType);
        EpConfig config = Config(mode, layout, alignment, dataType, seed);
        var routedToRank3 = new int[1];
        using var world = new RoundTripWorld(pool.For(World), config, CaseGenerator.Shape(new Random(seed), config), WithoutRank3)
        {
            OnChecked = ExpectRank3Silent(routedToRank3),
        };
        Assert.Equal(40, world.RunCases(seed, 40));
        Assert.True(routedToRank3[0] > 0, "no token was routed to the masked rank: the test proved nothing");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Ranks_go_on_without_a_rank_that_stopped_once_they_mask_it(
        EpMode mode, EpLayout layout, int alignment, EpDataType dataType)
    {
        int seed = CaseGenerator.Seed(32, (int)mode, (int)layout, (int)dataType);
        EpConfig config = Config(mode, layout, alignment, dataType, seed);
        var routedToRank3 = new int[1];
        bool masked = false;
        Action<CaseResult> silent = ExpectRank3Silent(routedToRank3);
        using var world = new RoundTripWorld(pool.For(World), config, CaseGenerator.Shape(new Random(seed), config))
        {
            OnChecked = result =>
            {
                if (Volatile.Read(ref masked)) silent(result);
            },
        };
        Assert.Equal(10, world.RunCases(seed, 10));
        world.Mask(WithoutRank3);
        Volatile.Write(ref masked, true);
        Assert.Equal(20, world.RunCases(seed + 10, 20));
        Assert.True(routedToRank3[0] > 0, "no token was routed to the masked rank: the test proved nothing");
    }
}
