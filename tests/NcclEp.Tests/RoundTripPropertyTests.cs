using System;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace NcclEp.Tests;

/// <summary>
/// Randomized round trips over every (mode, layout, alignment) × dtype × world size 1..8, each compared bit for
/// bit with the reference model: forward (Update, Dispatch, distinct experts, Combine) and backward
/// (Combine(Backward), the experts' backward, Dispatch(Backward)) on the same handle.
/// </summary>
public class RoundTripPropertyTests(RankThreadPool pool, ITestOutputHelper output) : IClassFixture<RankThreadPool>
{
    /// <summary>Configurations drawn per theory row (one world each) and cases per configuration.</summary>
    public const int ConfigsPerRow = 6, CasesPerConfig = 16;

    public static TheoryData<EpMode, EpLayout, int, EpDataType, int> Rows()
    {
        var data = new TheoryData<EpMode, EpLayout, int, EpDataType, int>();
        (EpMode, EpLayout, int)[] kinds =
        [
            (EpMode.LowLatency, EpLayout.ExpertMajor, 1),
            (EpMode.LowLatency, EpLayout.RankMajor, 1),
            (EpMode.HighThroughput, EpLayout.Flat, 1),
            (EpMode.HighThroughput, EpLayout.ExpertMajor, 1),
            (EpMode.HighThroughput, EpLayout.ExpertMajor, 4),
            (EpMode.HighThroughput, EpLayout.ExpertMajor, 16),
            (EpMode.HighThroughput, EpLayout.ExpertMajor, 128),
        ];
        foreach ((EpMode mode, EpLayout layout, int alignment) in kinds)
        {
            foreach (EpDataType type in new[] { EpDataType.BFloat16, EpDataType.Float32 })
            {
                for (int world = 1; world <= 8; world++) data.Add(mode, layout, alignment, type, world);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Round_trips_of_distinct_experts_match_the_reference_bit_for_bit(
        EpMode mode, EpLayout layout, int alignment, EpDataType dataType, int worldSize)
    {
        RankThreads threads = pool.For(worldSize);
        int cases = 0;
        for (int i = 0; i < ConfigsPerRow; i++)
        {
            int seed = CaseGenerator.Seed((int)mode, (int)layout, alignment, (int)dataType, worldSize, i);
            var rng = new Random(seed);
            EpConfig config = CaseGenerator.Config(rng, mode, layout, dataType, alignment, worldSize);
            using var world = new RoundTripWorld(threads, config, CaseGenerator.Shape(rng, config));
            cases += world.RunCases(seed, CasesPerConfig);
        }
        Assert.Equal(ConfigsPerRow * CasesPerConfig, cases);
        output.WriteLine($"{cases} randomized round-trip cases");
    }
}
