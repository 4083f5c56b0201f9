using System;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests;

/// <summary>A rejected call is not half-done: the peers neither wait for it nor see it, and the next valid calls line up.</summary>
public class RejectedCallTests
{
    private static readonly EpConfig Config = new(EpMode.LowLatency, NumExperts: 6, Hidden: 640, TopK: 4, MaxTokensPerRank: 5,
        EpLayout.ExpertMajor, EpDataType.Float32);

    [Fact]
    public void Calls_rejected_on_one_rank_leave_the_world_in_step()
    {
        const int world = 3;
        EpGroup[] groups = EpGroup.CreateHost(Config, world, new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(5) });
        var batches = new RankBatch[world];
        for (int r = 0; r < world; r++) batches[r] = CaseGenerator.Batch(new Random(CaseGenerator.Seed(41, r)), Config, world);
        var rejected = new int[world];
        using (var threads = new RankThreads(world))
        {
            threads.Run(rank =>
            {
                EpGroup g = groups[rank];
                using EpHandle h = g.CreateHandle();
                using var io = new RankIo(g, batches[rank]);
                int tokens = batches[rank].Tokens;
                EpTensor shortWeights = EpTensor.Create2D(io.Weights.Data, EpDataType.Float32, tokens, Config.TopK - 1);
                EpTensor shortRows = EpTensor.Create3D(io.Rows.Data, EpDataType.Float32, g.LocalExperts, (world * 5) - 1, Config.Hidden);
                EpTensor wideY = EpTensor.Create2D(io.Y.Data, EpDataType.Float32, tokens, Config.Hidden + 128);
                for (int round = 0; round < 3; round++)
                {
                    if (rank == round) rejected[rank] += Rejects(() => h.Update(io.Ids, shortWeights));
                    h.Update(io.Ids, io.Weights);
                    if (rank == round) rejected[rank] += Rejects(() => g.Dispatch(h, io.X, shortRows));
                    g.Dispatch(h, io.X, io.Rows);
                    if (rank == round) rejected[rank] += Rejects(() => g.Combine(h, io.Rows, wideY));
                    io.RunExperts(h);
                    g.Combine(h, io.Out, io.Y);
                    io.AssertCombined(new ReferenceModel(Config, world, batches).Combined(rank));
                }
            }, TimeSpan.FromSeconds(60));
        }
        foreach (EpGroup g in groups) g.Dispose();
        Assert.Equal(new[] { 3, 3, 3 }, rejected);
    }

    private static int Rejects(Action call)
    {
        Assert.ThrowsAny<ArgumentException>(call);
        return 1;
    }
}
