using System;
using System.Diagnostics;
using System.Linq;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests;

/// <summary>
/// No hang: with PeerTimeout = 200 ms and rank 1 of 2 skipping a call, rank 0 raises EpTimeoutException naming
/// peer 1 and the phase, within twice the time-out; it can then mask rank 1 and go on alone.
/// </summary>
[Collection(SerialCollection.Name)]
public class TimeoutTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(200);
    private static readonly EpConfig Config = new(EpMode.LowLatency, NumExperts: 8, Hidden: 512, TopK: 3, MaxTokensPerRank: 4,
        EpLayout.ExpertMajor, EpDataType.Float32);

    /// <summary>The step at which rank 1 stops: it makes every call before it and none from it on.</summary>
    public enum SkippedCall { Dispatch, Combine, CombineBackward, DispatchBackward }

    [Theory]
    [InlineData(SkippedCall.Dispatch, EpPhase.DispatchReceive)]
    [InlineData(SkippedCall.Combine, EpPhase.CombineReceive)]
    [InlineData(SkippedCall.CombineBackward, EpPhase.DispatchReceive)]
    [InlineData(SkippedCall.DispatchBackward, EpPhase.CombineReceive)]
    public void A_peer_that_skips_a_call_makes_the_waiting_rank_time_out_naming_it_and_the_phase(SkippedCall missing, EpPhase phase)
    {
        EpGroup[] groups = EpGroup.CreateHost(Config, 2, new EpGroupOptions { PeerTimeout = Timeout });
        var batches = new RankBatch[2];
        EpTimeoutException? timeout = null;
        TimeSpan waited = default;
        using (var threads = new RankThreads(2))
        {
            Exception?[] errors = threads.RunCollect(rank =>
            {
                EpGroup g = groups[rank];
                using EpHandle h = g.CreateHandle();
                using var io = new RankIo(g, batches[rank] = Batch(rank));
                h.Update(io.Ids, io.Weights);
                var steps = new Action[]
                {
                    () => g.Dispatch(h, io.X, io.Rows),
                    () => g.Combine(h, io.Rows, io.Y),
                    () => g.Combine(h, io.Rows, io.Y, pass: EpPass.Backward),
                    () => g.Dispatch(h, io.Y, io.Rows, pass: EpPass.Backward),
                };
                for (int s = 0; s < (int)missing; s++) steps[s]();
                if (rank == 1) return;
                var clock = Stopwatch.StartNew();
                try { steps[(int)missing](); }
                catch (EpTimeoutException e) { (timeout, waited) = (e, clock.Elapsed); }

                // Rank 0 masks the silent peer and goes on alone: what it routed to rank 1 counts for nothing.
                g.SetActiveRanks(new[] { true, false });
                h.Update(io.Ids, io.Weights);
                g.Dispatch(h, io.X, io.Rows);
                io.RunExperts(h);
                g.Combine(h, io.Out, io.Y);
                io.AssertCombined(new ReferenceModel(Config, 2, batches, [true, false]).Combined(0));
            }, TimeSpan.FromSeconds(30));
            Assert.Equal(new Exception?[2], errors);
        }
        foreach (EpGroup g in groups) g.Dispose();

        Assert.NotNull(timeout);
        Assert.Equal(0, timeout.Rank);
        Assert.Equal(1, timeout.Peer);
        Assert.Equal(phase, timeout.Phase);
        Assert.Contains("peer 1", timeout.Message, StringComparison.Ordinal);
        Assert.InRange(waited, Timeout * 0.95, Timeout * 2);
    }

    /// <summary>A random batch of 2 to 4 tokens.</summary>
    private static RankBatch Batch(int rank)
    {
        for (int seed = 1; ; seed++)
        {
            RankBatch b = CaseGenerator.Batch(new Random(CaseGenerator.Seed(rank, seed)), Config, 2);
            if (b.Tokens >= 2) return b;
        }
    }
}
