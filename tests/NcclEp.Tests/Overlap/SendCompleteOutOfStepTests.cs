using System;
using System.Linq;
using System.Threading;
using NcclEp.Host;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using NcclEp.Tests.Protocol;
using Xunit;
using Xunit.Sdk;

namespace NcclEp.Tests.Overlap;

/// <summary>
/// Send/complete with ranks out of step (issue 22, item 2). Every rank runs two micro-batches the way two-batch overlap
/// does: a dispatch of one and a combine of the other in flight together (one operation per route), the caller's "work"
/// between each send and its complete, plain calls between them. Seeded random delays between the calls and inside
/// every phase of the Host backend (which splits where the kernels split) put the ranks as far apart as the protocol
/// lets them; every output of every call is checked bit for bit right after its complete.
/// </summary>
public sealed class SendCompleteOutOfStepTests(RankThreadPool pool) : IClassFixture<RankThreadPool>
{
    /// <summary>Random routing on 2–4 ranks, one rank slow before every wait, every rank delayed at random.</summary>
    [Theory]
    [MemberData(nameof(OutOfStepTests.Kinds), MemberType = typeof(OutOfStepTests))]
    public void Two_micro_batches_overlapped_by_send_and_complete_give_every_output_bit_exact_with_ranks_out_of_step(EpMode mode, EpLayout layout, EpDataType type, int alignment)
    {
        foreach (int world in new[] { 2, 3, 4 })
        {
            int seed = CaseGenerator.Seed(22, 2, (int)mode, (int)layout, world);
            EpConfig config = CaseGenerator.Config(new Random(seed), mode, layout, type, alignment, world);
            var script = new OutOfStepScript(config, world, Routing.Random, seed, rounds: 6, minCombines: 1, maxCombines: 1);
            Run(script, new RankDelays(world, seed, slowRank: seed % world), $"random W={world} seed {seed}");
        }
    }

    /// <summary>
    /// W = 2 with rank 0's tokens all on rank 1's experts and none of rank 1's on rank 0's: rank 1 waits for no rows of
    /// rank 0, so only the presence rule keeps it from sending into a half rank 0 still reads; rank 0 is slow.
    /// </summary>
    [Theory]
    [MemberData(nameof(OutOfStepTests.Kinds), MemberType = typeof(OutOfStepTests))]
    public void One_sided_routing_overlapped_with_a_slow_receiver_gives_every_output_bit_exact(EpMode mode, EpLayout layout, EpDataType type, int alignment)
    {
        EpConfig config = new(mode, NumExperts: 8, Hidden: 512, TopK: mode == EpMode.LowLatency ? 3 : 4, MaxTokensPerRank: 9, layout, type, ExpertAlignment: alignment);
        for (int seed = 1; seed <= 2; seed++)
        {
            var script = new OutOfStepScript(config, 2, Routing.OneSided, CaseGenerator.Seed(22, 3, (int)mode, (int)layout, seed), rounds: 6, minCombines: 1, maxCombines: 1);
            var delays = new RankDelays(2, seed, slowRank: 0);
            Run(script, delays, $"one-sided seed {seed}");
            foreach (HostPhase phase in Enum.GetValues<HostPhase>())
                Assert.True(delays.Seen(phase) > 0, $"the Host backend never reached phase {phase}: the delays did not run there");
        }
    }

    /// <summary>
    /// Each rank's rounds in pairs (micro-batches a and b), every call on every rank in the same order:
    /// a: Update, DispatchSend, work, Complete; b: Update, DispatchSend; a: CombineSend; work; b: Complete; a: Complete;
    /// b: CombineSend, work, Complete; then a plain Combine of a and a plain Dispatch of b (the routes are free again).
    /// </summary>
    private void Run(OutOfStepScript script, RankDelays delays, string what)
    {
        EpConfig c = script.Config;
        int world = script.World;
        bool[] live = Enumerable.Repeat(true, world).ToArray();
        RankBatch[][] rounds = script.Steps.Where(s => s.Kind == StepKind.Update).Select(script.Batches).ToArray();
        EpGroup[] groups = EpGroup.CreateHost(c, world, OutOfStepTests.Options);
        var a = Array.ConvertAll(groups, g => new ProtocolRank(g));
        var b = Array.ConvertAll(groups, g => new ProtocolRank(g));
        delays.Install(groups);
        try
        {
            pool.For(world).Run(rank =>
            {
                ProtocolRank ma = a[rank], mb = b[rank];
                int op = 0;
                for (int pair = 0; pair + 1 < rounds.Length; pair += 2)
                {
                    RankBatch[] ba = rounds[pair], bb = rounds[pair + 1];
                    string at = $"{what}, {c} W={world}, rank {rank}, rounds {pair}/{pair + 1}";
                    Step(at, delays, rank, () =>
                    {
                        ma.Load(ba[rank]);
                        ma.Update();
                        ma.DispatchSend();
                        Work(delays, rank);
                        ma.Complete();
                        ma.CheckDispatch(new ReferenceModel(c, world, ba, live).Receive(rank), ba);

                        mb.Load(bb[rank]);
                        mb.Update();
                        mb.DispatchSend();
                        int opA = ++op;
                        ma.CombineSend(opA);
                        Work(delays, rank);
                        mb.Complete();
                        mb.CheckDispatch(new ReferenceModel(c, world, bb, live).Receive(rank), bb);
                        ma.Complete();
                        ma.CheckHome($"combine op {opA}", ProtocolExpected.Combined(c, world, ba, live, rank, opA, weighted: true));

                        int opB = ++op;
                        mb.CombineSend(opB);
                        Work(delays, rank);
                        mb.Complete();
                        mb.CheckHome($"combine op {opB}", ProtocolExpected.Combined(c, world, bb, live, rank, opB, weighted: true));

                        int opPlain = ++op;
                        ma.Combine(opPlain);
                        ma.CheckHome($"plain combine op {opPlain}", ProtocolExpected.Combined(c, world, ba, live, rank, opPlain, weighted: true));
                        mb.Dispatch();
                        mb.CheckDispatch(new ReferenceModel(c, world, bb, live).Receive(rank), bb);
                    });
                }
            }, TimeSpan.FromMinutes(2));
        }
        finally
        {
            foreach (ProtocolRank r in a.Concat(b)) r.Dispose();
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

    /// <summary>The caller's work between a send and its complete: a random pause, longer on the slow rank.</summary>
    private static void Work(RankDelays delays, int rank)
    {
        delays.Between(rank);
        Thread.SpinWait(rank * 997 % 20_000);
    }

    private static void Step(string at, RankDelays delays, int rank, Action calls)
    {
        delays.Between(rank);
        try
        {
            calls();
        }
        catch (Exception e) when (e is not XunitException)
        {
            throw new XunitException($"{at}: {e}");
        }
        catch (XunitException e)
        {
            throw new XunitException($"{at}: {e.Message}");
        }
    }
}
