using System;
using NcclEp.Testing;
using NcclEp.Tests.Protocol;
using Xunit;

namespace NcclEp.Tests;

/// <summary>
/// What the handle's received counts mean (issue 20, item 6): <see cref="EpHandle.ReceivedRankCounts"/> counts tokens
/// per source rank in every layout; <see cref="EpHandle.ReceivedExpertCounts"/> counts rows, one per (token, slot).
/// </summary>
public sealed class ReceivedCountsTests(RankThreadPool pool) : IClassFixture<RankThreadPool>
{
    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat)]
    public void Rank_counts_hold_tokens_per_source_and_expert_counts_hold_rows(EpMode mode, EpLayout layout)
    {
        // Rank 0 sends rank 1 three tokens: two with both of rank 1's experts (2 and 3), one with expert 3 only. Rank 1
        // sends its one token to rank 0 (expert 1).
        var config = new EpConfig(mode, NumExperts: 4, Hidden: 512, TopK: 2, MaxTokensPerRank: 4, layout);
        RankBatch[] batches = [Batch([2, 3, 3, 2, -1, 3], tokens: 3), Batch([1, -1], tokens: 1)];
        EpGroup[] groups = EpGroup.CreateHost(config, 2);
        var ranks = Array.ConvertAll(groups, g => new ProtocolRank(g));
        var rankCounts = new int[2][];
        var expertCounts = new int[2][];
        try
        {
            pool.For(2).Run(rank =>
            {
                ranks[rank].Load(batches[rank]);
                ranks[rank].Update();
                ranks[rank].Dispatch();
                rankCounts[rank] = HostView.Int32s(ranks[rank].Handle.ReceivedRankCounts);
                expertCounts[rank] = HostView.Int32s(ranks[rank].Handle.ReceivedExpertCounts);
            });
        }
        finally
        {
            foreach (ProtocolRank r in ranks) r.Dispose();
            foreach (EpGroup g in groups) g.Dispose();
        }

        Assert.Equal([0, 1], rankCounts[0]);      // one token from rank 1
        Assert.Equal([3, 0], rankCounts[1]);      // three tokens from rank 0, however many rows they fill
        Assert.Equal([2, 3], expertCounts[1]);    // expert 2: tokens 0 and 1; expert 3: all three — five rows
        Assert.Equal([0, 1], expertCounts[0]);
    }

    private static RankBatch Batch(int[] ids, int tokens)
    {
        var batch = new RankBatch(tokens, 2, 512, EpDataType.BFloat16);
        ids.CopyTo(batch.Ids, 0);
        Array.Fill(batch.Weights, 0.5f);
        BatchGenerator.FillRows(new Random(tokens), batch.X, EpDataType.BFloat16);
        return batch;
    }
}
