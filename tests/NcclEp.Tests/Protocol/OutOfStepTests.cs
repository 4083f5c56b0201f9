using System;
using System.Linq;
using NcclEp.Host;
using NcclEp.Testing;
using Xunit;
using Xunit.Sdk;

namespace NcclEp.Tests.Protocol;

/// <summary>
/// Ranks out of step (issue 20, item 3). The Host backend runs the kernels' protocol — presence flags, per-chunk flags,
/// a combine that waits for every live peer — so seeded random delays between calls and inside each call's phases put
/// Host ranks as far apart as the protocol lets them. No barrier separates the calls: each rank checks every output of
/// every call, bit for bit, right after it returns. Without the combine's presence wait, one-sided routing lets rank 1
/// run two combines ahead and overwrite the buffer half rank 0 is still reducing; these tests then fail.
/// </summary>
public sealed class OutOfStepTests(RankThreadPool pool) : IClassFixture<RankThreadPool>
{
    /// <summary>The peer time-out of the out-of-step tests (the send/complete ones too): long enough for every delay they add.</summary>
    internal static readonly EpGroupOptions Options = new() { PeerTimeout = TimeSpan.FromSeconds(5) };

    /// <summary>LL expert-major and rank-major, HT flat and expert-major (alignment 4), over both row types.</summary>
    public static TheoryData<EpMode, EpLayout, EpDataType, int> Kinds() => new()
    {
        { EpMode.LowLatency, EpLayout.ExpertMajor, EpDataType.BFloat16, 1 },
        { EpMode.LowLatency, EpLayout.RankMajor, EpDataType.Float32, 1 },
        { EpMode.HighThroughput, EpLayout.Flat, EpDataType.BFloat16, 1 },
        { EpMode.HighThroughput, EpLayout.ExpertMajor, EpDataType.Float32, 4 },
    };

    /// <summary>
    /// W = 2, rank 0's tokens all to rank 1's experts, rank 1's none to rank 0's: rank 1 waits on nothing for rows, so
    /// only the presence rule keeps it from running ahead; rank 0 is slow before every wait. 3–6 combines follow each
    /// dispatch.
    /// </summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void One_sided_routing_with_combines_in_a_row_and_a_slow_receiver_gives_every_output_bit_exact(EpMode mode, EpLayout layout, EpDataType type, int alignment)
    {
        EpConfig config = new(mode, NumExperts: 8, Hidden: 512, TopK: mode == EpMode.LowLatency ? 3 : 4, MaxTokensPerRank: 9, layout, type, ExpertAlignment: alignment);
        for (int seed = 1; seed <= 3; seed++)
        {
            var script = new OutOfStepScript(config, 2, Routing.OneSided, CaseGenerator.Seed(20, (int)mode, (int)layout, seed), rounds: 2, minCombines: 3, maxCombines: 6);
            Assert.True(script.LongestCombineRun() >= 3, "the script has no three combines in a row");
            var delays = new RankDelays(2, seed, slowRank: 0);
            Run(script, delays, $"one-sided seed {seed}");
            foreach (HostPhase phase in Enum.GetValues<HostPhase>())
                Assert.True(delays.Seen(phase) > 0, $"the Host backend never reached phase {phase}: the delays did not run there");
        }
    }

    /// <summary>Random routing on 2–4 ranks, every rank delayed at random between calls and inside them.</summary>
    [Theory]
    [MemberData(nameof(Kinds))]
    public void Ranks_put_out_of_step_by_random_delays_give_every_output_bit_exact(EpMode mode, EpLayout layout, EpDataType type, int alignment)
    {
        foreach (int world in new[] { 2, 3, 4 })
        {
            int seed = CaseGenerator.Seed(21, (int)mode, (int)layout, world);
            EpConfig config = CaseGenerator.Config(new Random(seed), mode, layout, type, alignment, world);
            var script = new OutOfStepScript(config, world, Routing.Random, seed, rounds: 3, minCombines: 3, maxCombines: 6);
            Run(script, new RankDelays(world, seed, slowRank: seed % world), $"random W={world} seed {seed}");
        }
    }

    private void Run(OutOfStepScript script, RankDelays delays, string what)
    {
        EpConfig c = script.Config;
        int world = script.World;
        bool[] live = Enumerable.Repeat(true, world).ToArray();
        EpGroup[] groups = EpGroup.CreateHost(c, world, Options);
        var ranks = Array.ConvertAll(groups, g => new ProtocolRank(g));
        delays.Install(groups);
        try
        {
            pool.For(world).Run(rank =>
            {
                ProtocolRank me = ranks[rank];
                foreach (ScriptStep step in script.Steps)
                {
                    delays.Between(rank);
                    RankBatch[] batches = script.Batches(step);
                    try
                    {
                        Execute(me, step, batches);
                        Check(me, step, batches, live);
                    }
                    catch (Exception e) when (e is not XunitException)
                    {
                        throw new XunitException($"{what}, {c} W={world}, rank {rank}, step {step}: {e}");
                    }
                    catch (XunitException e)
                    {
                        throw new XunitException($"{what}, {c} W={world}, step {step}: {e.Message}");
                    }
                }
            }, TimeSpan.FromMinutes(2));
        }
        finally
        {
            foreach (ProtocolRank r in ranks) r.Dispose();
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

    private static void Execute(ProtocolRank me, ScriptStep step, RankBatch[] batches)
    {
        switch (step.Kind)
        {
            case StepKind.Update:
                me.Load(batches[me.Rank]);
                me.Update();
                break;
            case StepKind.Dispatch:
                if (step.Rows > 0) me.Load(batches[me.Rank]);
                me.Dispatch();
                break;
            case StepKind.Combine:
                me.Combine(step.Op);
                break;
            case StepKind.DispatchBackward:
                me.DispatchBackward(step.Op);
                break;
        }
    }

    private static void Check(ProtocolRank me, ScriptStep step, RankBatch[] batches, bool[] live)
    {
        EpConfig c = me.Config;
        switch (step.Kind)
        {
            case StepKind.Dispatch:
                me.CheckDispatch(new ReferenceModel(c, me.World, batches, live).Receive(me.Rank), batches);
                break;
            case StepKind.Combine:
            case StepKind.DispatchBackward:
                bool weighted = step.Kind == StepKind.Combine;
                me.CheckHome($"{step.Kind} op {step.Op}", ProtocolExpected.Combined(c, me.World, batches, live, me.Rank, step.Op, weighted));
                break;
        }
    }
}
