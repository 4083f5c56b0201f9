using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests.Reliability;

/// <summary>
/// Fault injection on the Host backend. For W = 3 and 4, one rank stops (makes no further call) before each
/// collective call of a round trip in turn. Every survivor must raise <see cref="EpTimeoutException"/> naming
/// itself, the stopped peer, the phase of that call and the operation's sequence number, within twice the
/// time-out; then the survivors follow the recovery rule of docs/failure-handling.md (finish the failed round,
/// meet, mask the stopped rank, meet) and every further round trip matches the reference model with that rank
/// masked, bit for bit, with nothing written outside the outputs and zero counts from the masked rank.
/// </summary>
[Collection(SerialCollection.Name)]
public class FaultInjectionTests(RankThreadPool pool) : IClassFixture<RankThreadPool>
{
    internal static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(200);

    /// <summary>Full round trips before the failure (so sequence numbers are not trivially 1).</summary>
    private const int Warmups = 2;

    /// <summary>Round trips after recovery, each checked against the masked reference.</summary>
    private const int RecoveryRounds = 6;

    public static TheoryData<int, RoundStep> Cases()
    {
        var data = new TheoryData<int, RoundStep>();
        foreach (int world in new[] { 3, 4 })
        {
            for (RoundStep step = RoundStep.Dispatch; step <= RoundStep.DispatchBackward; step++) data.Add(world, step);
        }
        return data;
    }

    /// <summary>The rank that stops: the last, the first or one in the middle, so every wait order is met.</summary>
    internal static int StoppedRank(int world, RoundStep step) => step switch
    {
        RoundStep.Dispatch => world - 1,
        RoundStep.Combine => 0,
        RoundStep.CombineBackward => 1,
        _ => world - 2,
    };

    /// <summary>A small configuration; the (mode, layout) and dtype change with the case so that all four layouts are met.</summary>
    internal static EpConfig ConfigFor(int world, RoundStep step)
    {
        (EpMode mode, EpLayout layout, int alignment) = step switch
        {
            RoundStep.Dispatch => (EpMode.LowLatency, EpLayout.ExpertMajor, 1),
            RoundStep.Combine => (EpMode.LowLatency, EpLayout.RankMajor, 1),
            RoundStep.CombineBackward => (EpMode.HighThroughput, EpLayout.Flat, 1),
            _ => (EpMode.HighThroughput, EpLayout.ExpertMajor, 4),
        };
        EpDataType type = (world + (int)step) % 2 == 0 ? EpDataType.BFloat16 : EpDataType.Float32;
        return new EpConfig(mode, NumExperts: world * 3, Hidden: 512, TopK: 4, MaxTokensPerRank: 6, layout, type, ExpertAlignment: alignment);
    }

    internal static EpPhase PhaseOf(RoundStep step) =>
        step is RoundStep.Dispatch or RoundStep.CombineBackward ? EpPhase.DispatchReceive : EpPhase.CombineReceive;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Survivors_time_out_naming_the_stopped_rank_and_phase_then_mask_it_and_go_on(int world, RoundStep stopBefore)
    {
        int dead = StoppedRank(world, stopBefore);
        EpConfig config = ConfigFor(world, stopBefore);
        bool[] mask = Enumerable.Range(0, world).Select(r => r != dead).ToArray();
        int firstSurvivor = dead == 0 ? 1 : 0;
        int seed = CaseGenerator.Seed(71, world, (int)stopBefore);
        var errors = new EpTimeoutException?[world];
        var waited = new TimeSpan[world];
        int routedToDead = 0;

        using var fw = new FaultWorld(config, world, Timeout);
        using var barrier = new Barrier(world);
        pool.For(world).Run(rank => Survivor(barrier, () =>
        {
            for (int i = 0; i < Warmups; i++) fw.RoundTrip(rank, seed + i, barrier);

            // The failed round: every rank makes the calls before the stop; the stopped rank then leaves for good.
            fw.Prepare(rank, seed + Warmups);
            FaultWorld.Sync(barrier);
            fw.Begin(rank, seed + Warmups);
            for (RoundStep step = RoundStep.Dispatch; step < stopBefore; step++) fw.Step(rank, step);
            if (rank == dead)
            {
                barrier.RemoveParticipant();
                return;
            }

            long start = Stopwatch.GetTimestamp();
            errors[rank] = Assert.Throws<EpTimeoutException>(() => fw.Step(rank, stopBefore));
            waited[rank] = Stopwatch.GetElapsedTime(start);
            fw.CheckCompleted(rank);  // the calls before the stop, all ranks live, are exact
            fw.Group(rank).CheckErrors();  // nothing else is pending

            // Recovery rule: finish the failed round, meet, mask, meet, start a fresh round.
            FaultWorld.Sync(barrier);
            if (rank == firstSurvivor) fw.SetModelMask(mask);
            fw.Group(rank).SetActiveRanks(mask);
            FaultWorld.Sync(barrier);
            for (int i = 0; i < RecoveryRounds; i++)
                Interlocked.Add(ref routedToDead, fw.RoundTrip(rank, seed + Warmups + 1 + i, barrier));
        }), TimeSpan.FromSeconds(90));

        uint sequence = (uint)((2 * Warmups) + 1 + (stopBefore >= RoundStep.CombineBackward ? 1 : 0));
        for (int rank = 0; rank < world; rank++)
        {
            if (rank == dead)
            {
                Assert.Null(errors[rank]);
                continue;
            }
            EpTimeoutException e = errors[rank]!;
            Assert.Equal(rank, e.Rank);
            Assert.Equal(dead, e.Peer);
            Assert.Equal(PhaseOf(stopBefore), e.Phase);
            Assert.Equal(sequence, e.Sequence);
            Assert.Contains($"peer {dead}", e.Message, StringComparison.Ordinal);
            Assert.Contains(PhaseOf(stopBefore).ToString(), e.Message, StringComparison.Ordinal);
            Assert.InRange(waited[rank], Timeout * 0.95, Timeout * 2);
        }
        Assert.True(routedToDead > 0, "no token was routed to the masked rank after recovery: the test proved nothing");
    }

    /// <summary>
    /// Survivors that got different distances into the failed round (as Cuda ranks do, which learn of a time-out
    /// only at a later call): with W = 4 and rank 3 stopped before Combine, survivor r makes r + 1 more calls, each
    /// timing out, so their dispatch and combine sequence numbers differ. The recovery rule restarts every
    /// survivor's sequence, and the next round trips are exact.
    /// </summary>
    [Fact]
    public void Survivors_out_of_step_after_a_failure_are_back_in_step_after_the_recovery_rule()
    {
        const int world = 4, dead = 3;
        EpConfig config = new(EpMode.LowLatency, NumExperts: 12, Hidden: 512, TopK: 4, MaxTokensPerRank: 6, EpLayout.ExpertMajor);
        bool[] mask = [true, true, true, false];
        int seed = CaseGenerator.Seed(72);
        var timeouts = new int[world];
        int routedToDead = 0;

        using var fw = new FaultWorld(config, world, Timeout);
        using var barrier = new Barrier(world);
        pool.For(world).Run(rank => Survivor(barrier, () =>
        {
            fw.RoundTrip(rank, seed, barrier);
            fw.Prepare(rank, seed + 1);
            FaultWorld.Sync(barrier);
            fw.Begin(rank, seed + 1);
            fw.Step(rank, RoundStep.Dispatch);
            if (rank == dead)
            {
                barrier.RemoveParticipant();
                return;
            }
            for (RoundStep step = RoundStep.Combine; step <= RoundStep.Combine + rank; step++)
            {
                EpTimeoutException e = Assert.Throws<EpTimeoutException>(() => fw.Step(rank, step));
                Assert.Equal(PhaseOf(step), e.Phase);
                timeouts[rank]++;
            }

            FaultWorld.Sync(barrier);
            if (rank == 0) fw.SetModelMask(mask);
            fw.Group(rank).SetActiveRanks(mask);
            FaultWorld.Sync(barrier);
            for (int i = 0; i < 4; i++) Interlocked.Add(ref routedToDead, fw.RoundTrip(rank, seed + 2 + i, barrier));
        }), TimeSpan.FromSeconds(90));

        Assert.Equal(new[] { 1, 2, 3, 0 }, timeouts);
        Assert.True(routedToDead > 0, "no token was routed to the masked rank after recovery: the test proved nothing");
    }

    /// <summary>
    /// Two failures one after the other (W = 4, HT ExpertMajor): rank 3 stops before Combine, the others recover and
    /// run two round trips; then rank 1 stops before Dispatch and ranks 0 and 2 recover again. The second time-out
    /// carries sequence 5 (the recovery restarted the count: two round trips = 4 dispatch-route operations), and the
    /// two last survivors stay exact, with both stopped ranks masked.
    /// </summary>
    [Fact]
    public void A_second_failure_after_recovery_is_reported_with_the_restarted_sequence_and_handled_the_same_way()
    {
        const int world = 4;
        EpConfig config = new(EpMode.HighThroughput, NumExperts: 8, Hidden: 512, TopK: 3, MaxTokensPerRank: 5, EpLayout.ExpertMajor,
            EpDataType.Float32, ExpertAlignment: 2);
        bool[] firstMask = [true, true, true, false], secondMask = [true, false, true, false];
        int seed = CaseGenerator.Seed(73);
        var first = new EpTimeoutException?[world];
        var second = new EpTimeoutException?[world];
        int routedToDead = 0;

        using var fw = new FaultWorld(config, world, Timeout);
        using var barrier = new Barrier(world);
        pool.For(world).Run(rank => Survivor(barrier, () =>
        {
            fw.RoundTrip(rank, seed, barrier);
            fw.Prepare(rank, seed + 1);
            FaultWorld.Sync(barrier);
            fw.Begin(rank, seed + 1);
            fw.Step(rank, RoundStep.Dispatch);
            if (rank == 3)
            {
                barrier.RemoveParticipant();
                return;
            }
            first[rank] = Assert.Throws<EpTimeoutException>(() => fw.Step(rank, RoundStep.Combine));
            FaultWorld.Sync(barrier);
            if (rank == 0) fw.SetModelMask(firstMask);
            fw.Group(rank).SetActiveRanks(firstMask);
            FaultWorld.Sync(barrier);
            for (int i = 0; i < 2; i++) Interlocked.Add(ref routedToDead, fw.RoundTrip(rank, seed + 2 + i, barrier));

            fw.Prepare(rank, seed + 4);
            FaultWorld.Sync(barrier);
            if (rank == 1)
            {
                barrier.RemoveParticipant();
                return;
            }
            fw.Begin(rank, seed + 4);
            second[rank] = Assert.Throws<EpTimeoutException>(() => fw.Step(rank, RoundStep.Dispatch));
            FaultWorld.Sync(barrier);
            if (rank == 0) fw.SetModelMask(secondMask);
            fw.Group(rank).SetActiveRanks(secondMask);
            FaultWorld.Sync(barrier);
            for (int i = 0; i < 3; i++) Interlocked.Add(ref routedToDead, fw.RoundTrip(rank, seed + 5 + i, barrier));
        }), TimeSpan.FromSeconds(90));

        foreach (int rank in new[] { 0, 1, 2 })
            Assert.Equal((3, EpPhase.CombineReceive, 3u), (first[rank]!.Peer, first[rank]!.Phase, first[rank]!.Sequence));
        foreach (int rank in new[] { 0, 2 })
            Assert.Equal((1, EpPhase.DispatchReceive, 5u), (second[rank]!.Peer, second[rank]!.Phase, second[rank]!.Sequence));
        Assert.True(routedToDead > 0, "no token was routed to a masked rank after recovery: the test proved nothing");
    }

    /// <summary>Runs a rank's part; if it fails, it leaves the barrier so the others are not held until the barrier's own time-out.</summary>
    internal static void Survivor(Barrier barrier, Action body)
    {
        try
        {
            body();
        }
        catch
        {
            try { barrier.RemoveParticipant(); }
            catch (InvalidOperationException) { }
            throw;
        }
    }
}
