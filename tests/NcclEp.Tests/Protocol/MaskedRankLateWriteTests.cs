using System;
using System.Diagnostics;
using System.Threading;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests.Protocol;

/// <summary>
/// A masked rank's late call (issue 20, item 4). Expert-major combine rows are indexed by (token, top-k slot), with no
/// record of who wrote them: a masked rank's late round-1 combine used to land in a survivor's round-2 rows, and its
/// call returned normally. Now the survivors mark it as masked in SetActiveRanks, and its late calls write nothing and
/// raise <see cref="EpRankMaskedException"/>.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class MaskedRankLateWriteTests
{
    private const int World = 3;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    private static readonly EpConfig Config = new(EpMode.LowLatency, NumExperts: 6, Hidden: 512, TopK: 3, MaxTokensPerRank: 2, EpLayout.ExpertMajor);
    private static readonly bool[] AllLive = [true, true, true];
    private static readonly bool[] WithoutRank2 = [true, true, false];

    /// <summary>
    /// The timeline. Round 1: ranks 0 and 1 route slot 0 to expert 4 (rank 2); all Update and Dispatch, then
    /// rank 2 stalls. Ranks 0 and 1 time out in Combine (peer 2), meet, mask rank 2, meet. Round 2 (slot 0 on a live
    /// rank): rank 1 combines at 1.9 s, rank 2's late round-1 Combine comes at 2.3 s, rank 0 combines at 2.7 s.
    /// </summary>
    [Fact]
    public void A_masked_rank_s_late_combine_writes_nothing_and_raises_and_the_survivors_rows_stay_their_own()
    {
        RankBatch[] round1 = [Batch([4, 0, -1], seed: 1), Batch([4, 2, -1], seed: 2), Batch([0, 2, -1], seed: 3)];
        RankBatch[] round2 = [Batch([2, 0, -1], seed: 4), Batch([0, 3, -1], seed: 5), new RankBatch(0, Config.TopK, Config.Hidden, Config.DataType)];
        EpGroup[] groups = EpGroup.CreateHost(Config, World, new EpGroupOptions { PeerTimeout = Timeout });
        var ranks = Array.ConvertAll(groups, g => new ProtocolRank(g));
        var timeouts = new EpTimeoutException?[World];
        Exception? late = null, later = null;
        using var all = new Barrier(World);
        using var survivors = new Barrier(2);
        var clock = new Stopwatch();
        try
        {
            using var threads = new RankThreads(World);
            threads.Run(rank =>
            {
                ProtocolRank me = ranks[rank];
                me.Load(round1[rank]);
                Meet(all);
                if (rank == 0) clock.Start();
                Meet(all);
                me.Update();
                me.Dispatch();
                if (rank == 2)
                {
                    SleepUntil(clock, 2.3);
                    late = Record.Exception(() => me.Combine(op: 1));
                    later = Record.Exception(me.Update);
                    return;
                }
                timeouts[rank] = Assert.Throws<EpTimeoutException>(() => me.Combine(op: 1));
                Meet(survivors);
                groups[rank].SetActiveRanks(WithoutRank2);
                Meet(survivors);

                me.Load(round2[rank]);
                me.Update();
                me.Dispatch();
                me.CheckDispatch(new ReferenceModel(Config, World, round2, WithoutRank2).Receive(rank), round2);
                SleepUntil(clock, rank == 1 ? 1.9 : 2.7);
                me.Combine(op: 2);
                me.CheckHome("round-2 combine", ProtocolExpected.Combined(Config, World, round2, WithoutRank2, rank, op: 2, weighted: true));
            }, TimeSpan.FromSeconds(30));
        }
        finally
        {
            foreach (ProtocolRank r in ranks) r.Dispose();
            foreach (EpGroup g in groups) g.Dispose();
        }

        for (int r = 0; r < 2; r++) Assert.Equal((2, EpPhase.CombineReceive, 1u), (timeouts[r]!.Peer, timeouts[r]!.Phase, timeouts[r]!.Sequence));
        EpRankMaskedException masked = Assert.IsType<EpRankMaskedException>(late);
        Assert.Equal(2, masked.Rank);
        Assert.True(masked.MaskedBy is 0 or 1, $"masked by {masked.MaskedBy}");
        Assert.Contains("wrote nothing", masked.Message, StringComparison.Ordinal);
        Assert.IsType<EpRankMaskedException>(later);
    }

    [Fact]
    public void A_masked_rank_cannot_set_a_mask_of_its_own()
    {
        EpGroup[] groups = EpGroup.CreateHost(Config, World);
        try
        {
            groups[0].SetActiveRanks(WithoutRank2);
            EpRankMaskedException e = Assert.Throws<EpRankMaskedException>(() => groups[2].SetActiveRanks(AllLive));
            Assert.Equal((2, 0), (e.Rank, e.MaskedBy));
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

    [Fact]
    public void A_mask_that_brings_back_a_masked_rank_is_refused_naming_active()
    {
        EpGroup[] groups = EpGroup.CreateHost(Config, World);
        try
        {
            groups[0].SetActiveRanks(WithoutRank2);
            ArgumentException e = Assert.Throws<ArgumentException>(() => groups[0].SetActiveRanks(AllLive));
            Assert.Equal("active", e.ParamName);
            Assert.Contains("Rank 2", e.Message, StringComparison.Ordinal);
            Assert.Contains("cannot rejoin", e.Message, StringComparison.Ordinal);
            groups[0].SetActiveRanks(WithoutRank2);  // the same mask again is fine: nothing comes back
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

    /// <summary>Two tokens with the same experts <paramref name="ids"/>, weights 1 and 0.75.</summary>
    private static RankBatch Batch(int[] ids, int seed)
    {
        var batch = new RankBatch(2, Config.TopK, Config.Hidden, Config.DataType);
        for (int t = 0; t < 2; t++)
        {
            ids.CopyTo(batch.Ids, t * Config.TopK);
            for (int k = 0; k < Config.TopK; k++) batch.Weights[(t * Config.TopK) + k] = k == 0 ? 1f : 0.75f;
        }
        BatchGenerator.FillRows(new Random(seed), batch.X, Config.DataType);
        return batch;
    }

    /// <summary>Sleeps until <paramref name="clock"/> reads <paramref name="seconds"/> (at once if it is past).</summary>
    private static void SleepUntil(Stopwatch clock, double seconds) => Thread.Sleep(TimeSpan.FromSeconds(Math.Max(0, seconds - clock.Elapsed.TotalSeconds)));

    private static void Meet(Barrier barrier) => Assert.True(barrier.SignalAndWait(TimeSpan.FromSeconds(20)), "a rank did not reach the barrier");
}
