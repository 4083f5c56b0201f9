using System;
using System.Linq;
using System.Threading;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using NcclEp.Tests.Protocol;
using Xunit;

namespace NcclEp.Tests.Overlap;

/// <summary>
/// Send/complete (issue 22, item 2) on the Host backend: a send then its complete gives what the plain call gives, bit
/// for bit, on both routes and passes; the send half waits for no peer (a peer that has not started yet does not hold
/// it up); the complete half is where a rank waits.
/// </summary>
public sealed class SendCompleteTests(RankThreadPool pool) : IClassFixture<RankThreadPool>
{
    public static TheoryData<EpMode, EpLayout, EpDataType, int> Kinds() => new()
    {
        { EpMode.LowLatency, EpLayout.ExpertMajor, EpDataType.BFloat16, 1 },
        { EpMode.LowLatency, EpLayout.RankMajor, EpDataType.BFloat16, 1 },
        { EpMode.HighThroughput, EpLayout.Flat, EpDataType.Float32, 1 },
        { EpMode.HighThroughput, EpLayout.ExpertMajor, EpDataType.BFloat16, 4 },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Send_then_complete_gives_the_plain_calls_results_bit_for_bit_on_both_routes_and_passes(EpMode mode, EpLayout layout, EpDataType type, int alignment)
    {
        const int World = 3, Rounds = 2;
        int seed = CaseGenerator.Seed(22, 20, (int)mode, (int)layout);
        EpConfig config = CaseGenerator.Config(new Random(seed), mode, layout, type, alignment, World);
        bool[] live = Enumerable.Repeat(true, World).ToArray();
        EpGroup[] groups = EpGroup.CreateHost(config, World);
        try
        {
            pool.For(World).Run(rank =>
            {
                using var plain = new ProtocolRank(groups[rank]);
                using var split = new ProtocolRank(groups[rank]);
                for (int round = 0; round < Rounds; round++)
                {
                    RankBatch[] batches = Enumerable.Range(0, World).Select(r => CaseGenerator.Batch(new Random(CaseGenerator.Seed(seed, round, r)), config, World)).ToArray();
                    foreach (ProtocolRank r in new[] { plain, split })
                    {
                        r.Load(batches[rank]);
                        r.Update();
                    }
                    plain.Dispatch();
                    split.DispatchSend();
                    Assert.True(split.Handle.HasSendInFlight);
                    split.Complete();
                    Assert.False(split.Handle.HasSendInFlight);
                    split.CheckDispatch(new ReferenceModel(config, World, batches, live).Receive(rank), batches);
                    Assert.Equal(plain.Outputs(), split.Outputs());

                    plain.Combine(op: round);
                    split.CombineSend(op: round);
                    split.Complete();
                    split.CheckHome($"round {round}", ProtocolExpected.Combined(config, World, batches, live, rank, round, weighted: true));
                    Assert.Equal(plain.Outputs(), split.Outputs());

                    plain.DispatchBackward(op: round + 50);
                    split.DispatchBackwardSend(op: round + 50);
                    split.Complete();
                    split.CheckHome($"round {round} backward", ProtocolExpected.Combined(config, World, batches, live, rank, round + 50, weighted: false));
                    Assert.Equal(plain.Outputs(), split.Outputs());
                }
            }, TimeSpan.FromMinutes(2));
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

    /// <summary>
    /// Rank 0 issues its sends while rank 1 has not made the matching call (it waits for rank 0's signal): the sends
    /// return at once, as the kernel's send half stores and ends. Only rank 0's complete waits for rank 1.
    /// </summary>
    [Fact]
    public void A_send_returns_before_its_peers_have_started_and_the_complete_waits_for_them()
    {
        var config = new EpConfig(EpMode.LowLatency, NumExperts: 4, Hidden: 512, TopK: 2, MaxTokensPerRank: 4, EpLayout.ExpertMajor);
        EpGroup[] groups = EpGroup.CreateHost(config, 2, new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(5) });
        var batches = Enumerable.Range(0, 2).Select(r => TwoWayBatch(config, r)).ToArray();
        bool[] live = [true, true];
        var ranks = Array.ConvertAll(groups, g => new ProtocolRank(g));
        using var sent = new ManualResetEventSlim();
        using var peerStarted = new ManualResetEventSlim();
        try
        {
            pool.For(2).Run(rank =>
            {
                ProtocolRank me = ranks[rank];
                me.Load(batches[rank]);
                me.Update();
                if (rank == 0)
                {
                    me.DispatchSend();
                    Assert.False(peerStarted.IsSet, "rank 0's DispatchSend returned only after rank 1 started");
                    sent.Set();
                    me.Complete();
                    Assert.True(peerStarted.IsSet);
                }
                else
                {
                    Assert.True(sent.Wait(TimeSpan.FromSeconds(20)), "rank 0's DispatchSend did not return while rank 1 held back");
                    peerStarted.Set();
                    me.DispatchSend();
                    me.Complete();
                }
                me.CheckDispatch(new ReferenceModel(config, 2, batches, live).Receive(rank), batches);
            }, TimeSpan.FromMinutes(1));
        }
        finally
        {
            foreach (ProtocolRank r in ranks) r.Dispose();
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

    /// <summary>Two tokens per rank, each to one expert of each rank, so every rank sends to and waits for every other.</summary>
    private static RankBatch TwoWayBatch(EpConfig config, int rank)
    {
        var batch = new RankBatch(2, config.TopK, config.Hidden, config.DataType);
        for (int t = 0; t < 2; t++)
        {
            batch.Ids[t * 2] = (t + rank) % 2;
            batch.Ids[(t * 2) + 1] = 2 + ((t + rank) % 2);
            batch.Weights[t * 2] = 0.5f;
            batch.Weights[(t * 2) + 1] = 1.25f;
        }
        BatchGenerator.FillRows(new Random(rank + 5), batch.X, config.DataType);
        return batch;
    }
}
