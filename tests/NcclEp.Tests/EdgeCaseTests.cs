using System;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests;

/// <summary>Cases the randomized rows do not reach: handles in flight together, null empty tensors, big rows, big worlds.</summary>
public class EdgeCaseTests
{
    private static readonly EpConfig Small = new(EpMode.LowLatency, NumExperts: 6, Hidden: 512, TopK: 3, MaxTokensPerRank: 4,
        EpLayout.ExpertMajor, EpDataType.Float32);

    private static RankBatch Batch(int world, int seed, int rank)
    {
        for (int attempt = 0; ; attempt++)
        {
            RankBatch b = CaseGenerator.Batch(new Random(CaseGenerator.Seed(seed, rank, attempt)), Small, world);
            if (b.Tokens > 0) return b;
        }
    }

    [Fact]
    public void Two_handles_in_flight_on_one_group_keep_their_routing_apart()
    {
        const int world = 3;
        EpGroup[] groups = EpGroup.CreateHost(Small, world);
        var first = new RankBatch[world];
        var second = new RankBatch[world];
        for (int r = 0; r < world; r++) (first[r], second[r]) = (Batch(world, 51, r), Batch(world, 52, r));
        using (var threads = new RankThreads(world))
        {
            threads.Run(rank =>
            {
                EpGroup g = groups[rank];
                using EpHandle a = g.CreateHandle(), b = g.CreateHandle();
                using RankIo ioA = new(g, first[rank]), ioB = new(g, second[rank]);
                a.Update(ioA.Ids, ioA.Weights);
                b.Update(ioB.Ids, ioB.Weights);
                g.Dispatch(a, ioA.X, ioA.Rows);
                g.Dispatch(b, ioB.X, ioB.Rows);
                ioB.RunExperts(b);
                ioA.RunExperts(a);
                g.Combine(b, ioB.Out, ioB.Y);
                g.Combine(a, ioA.Out, ioA.Y);
                ioA.AssertCombined(new ReferenceModel(Small, world, first).Combined(rank));
                ioB.AssertCombined(new ReferenceModel(Small, world, second).Combined(rank));
            }, TimeSpan.FromSeconds(60));
        }
        foreach (EpGroup g in groups) g.Dispose();
    }

    [Fact]
    public void A_rank_with_no_tokens_may_pass_null_empty_tensors()
    {
        const int world = 2;
        EpGroup[] groups = EpGroup.CreateHost(Small, world);
        var batches = new[] { new RankBatch(0, Small.TopK, Small.Hidden, Small.DataType), Batch(world, 53, 1) };
        var counts = new int[world][];
        using (var threads = new RankThreads(world))
        {
            threads.Run(rank =>
            {
                EpGroup g = groups[rank];
                using EpHandle h = g.CreateHandle();
                using var io = new RankIo(g, batches[rank]);
                if (rank == 0)
                {
                    EpTensor ids = EpTensor.Create2D(0, EpDataType.Int32, 0, Small.TopK), weights = EpTensor.Create2D(0, EpDataType.Float32, 0, Small.TopK);
                    EpTensor rows = EpTensor.Create2D(0, EpDataType.Float32, 0, Small.Hidden);
                    h.Update(ids, weights);
                    g.Dispatch(h, rows, io.Rows);
                    io.RunExperts(h);
                    g.Combine(h, io.Out, rows);
                    g.Combine(h, io.Rows, rows, pass: EpPass.Backward);
                    g.Dispatch(h, rows, io.Rows, pass: EpPass.Backward);
                }
                else
                {
                    h.Update(io.Ids, io.Weights);
                    g.Dispatch(h, io.X, io.Rows);
                    io.RunExperts(h);
                    g.Combine(h, io.Out, io.Y);
                    io.AssertCombined(new ReferenceModel(Small, world, batches).Combined(1));
                    g.Combine(h, io.Rows, io.Y, pass: EpPass.Backward);
                    g.Dispatch(h, io.X, io.Rows, pass: EpPass.Backward);
                }
                counts[rank] = HostView.Int32s(h.ReceivedRankCounts);
            }, TimeSpan.FromSeconds(60));
        }
        foreach (EpGroup g in groups) g.Dispose();
        Assert.Equal(0, counts[0][0]);
        Assert.Equal(0, counts[1][0]);
    }

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, 7168, 1)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, 16384, 1)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, 7168, 1)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, 16384, 8)]
    public void Round_trips_of_the_widest_rows_match_the_reference(EpMode mode, EpLayout layout, int hidden, int alignment)
    {
        var config = new EpConfig(mode, NumExperts: 4, hidden, TopK: 3, MaxTokensPerRank: 2, layout, ExpertAlignment: alignment);
        using var threads = new RankThreads(2);
        using var world = new RoundTripWorld(threads, config, new BufferShape(hidden, hidden + 8, hidden, 1, 3, 4));
        Assert.Equal(6, world.RunCases(CaseGenerator.Seed(54, hidden), 6));
    }

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, 1)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, 1)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, 1)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, 4)]
    public void Round_trips_on_sixteen_ranks_match_the_reference(EpMode mode, EpLayout layout, int alignment)
    {
        var config = new EpConfig(mode, NumExperts: 32, Hidden: 512, TopK: 6, MaxTokensPerRank: 3, layout, ExpertAlignment: alignment);
        using var threads = new RankThreads(16);
        using var world = new RoundTripWorld(threads, config, new BufferShape(512, 512, 520, 0, 6, 6));
        Assert.Equal(4, world.RunCases(CaseGenerator.Seed(55, (int)layout), 4));
    }
}
