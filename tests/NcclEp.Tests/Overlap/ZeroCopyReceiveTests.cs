using System;
using System.Linq;
using NcclEp.Graphs;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using NcclEp.Tests.Protocol;
using Xunit;
using Xunit.Sdk;

namespace NcclEp.Tests.Overlap;

/// <summary>
/// Zero-copy receive (issue 22, item 3) on the Host backend, low-latency rank-major: a dispatch into
/// <see cref="EpGroup.WindowReceiveRows"/> leaves the same rows and metadata as a dispatch into the caller's buffer, the
/// experts run in place on those rows and the combine reads them there, with plain calls, with send/complete and with
/// ranks put out of step by random delays; and the host's parity survives graph replays.
/// </summary>
public sealed class ZeroCopyReceiveTests(RankThreadPool pool) : IClassFixture<RankThreadPool>
{
    private static readonly EpGroupOptions Options = new() { PeerTimeout = TimeSpan.FromSeconds(5) };

    [Theory]
    [InlineData(EpDataType.BFloat16, 2, false)]
    [InlineData(EpDataType.Float32, 3, false)]
    [InlineData(EpDataType.BFloat16, 4, true)]
    [InlineData(EpDataType.Float32, 2, true)]
    public void Rows_received_in_the_window_equal_copied_rows_and_the_combine_reads_the_experts_outputs_there(EpDataType type, int world, bool split)
    {
        int seed = CaseGenerator.Seed(22, 30, (int)type, world, split ? 1 : 0);
        EpConfig config = CaseGenerator.Config(new Random(seed), EpMode.LowLatency, EpLayout.RankMajor, type, 1, world);
        var script = new OutOfStepScript(config, world, Routing.Random, seed, rounds: 4, minCombines: 1, maxCombines: 1);
        Run(script, delays: null, split, $"W={world} {type}");
    }

    /// <summary>Every rank delayed at random between calls and inside every phase, one rank slow before it waits.</summary>
    [Theory]
    [InlineData(2, 1)]
    [InlineData(3, 2)]
    [InlineData(4, 3)]
    public void Zero_copy_rounds_with_ranks_out_of_step_give_every_output_bit_exact(int world, int seed)
    {
        EpConfig config = CaseGenerator.Config(new Random(CaseGenerator.Seed(22, 31, world)), EpMode.LowLatency, EpLayout.RankMajor, EpDataType.BFloat16, 1, world);
        var script = new OutOfStepScript(config, world, Routing.Random, CaseGenerator.Seed(22, 32, world, seed), rounds: 6, minCombines: 1, maxCombines: 1);
        Run(script, new RankDelays(world, seed, slowRank: seed % world), split: true, $"out of step W={world}");
        var oneSided = new OutOfStepScript(config with { NumExperts = 2 * config.LocalExperts(world) }, 2, Routing.OneSided, seed, rounds: 6, minCombines: 1, maxCombines: 1);
        Run(oneSided, new RankDelays(2, seed, slowRank: 0), split: true, "one-sided W=2");
    }

    /// <summary>
    /// Each round on every rank: a zero-copy dispatch (window rows against the reference; the operation before it moved
    /// other rows, so rows taken from the wrong window half cannot pass), the experts in place on the window rows, a
    /// combine that reads them there; then a plain dispatch of the same batch on a second handle (same metadata) and its
    /// combine, so the zero-copy rounds land in both window halves.
    /// </summary>
    private void Run(OutOfStepScript script, RankDelays? delays, bool split, string what)
    {
        EpConfig c = script.Config;
        int world = script.World;
        bool[] live = Enumerable.Repeat(true, world).ToArray();
        RankBatch[][] rounds = script.Steps.Where(s => s.Kind == StepKind.Update).Select(script.Batches).ToArray();
        EpGroup[] groups = EpGroup.CreateHost(c, world, Options);
        var zero = Array.ConvertAll(groups, g => new ProtocolRank(g));
        var copy = Array.ConvertAll(groups, g => new ProtocolRank(g));
        delays?.Install(groups);
        try
        {
            pool.For(world).Run(rank =>
            {
                ProtocolRank zc = zero[rank], plain = copy[rank];
                EpGroup g = groups[rank];
                for (int round = 0; round < rounds.Length; round++)
                {
                    RankBatch[] batches = rounds[round];
                    int op = (round * 2) + 1;
                    try
                    {
                        delays?.Between(rank);
                        zc.Load(batches[rank]);
                        zc.Update();
                        EpTensor window = g.WindowReceiveRows();
                        if (split)
                        {
                            g.DispatchSend(zc.Handle, zc.HomeTokens, window);
                            delays?.Between(rank);
                            g.Complete(zc.Handle);
                        }
                        else
                        {
                            g.Dispatch(zc.Handle, zc.HomeTokens, window);
                        }
                        int[] counts = HostView.Int32s(zc.Handle.ReceivedRankCounts);
                        ExpectedReceive expected = new ReferenceModel(c, world, batches, live).Receive(rank);
                        RankMajorRows.AssertSame(RankMajorRows.Expected(c, expected, batches), RankMajorRows.Read(c, window, counts), c.Hidden, "rows in the window");

                        RankMajorRows.ApplyExperts(c, window, counts, op, rank);
                        if (split)
                        {
                            g.CombineSend(zc.Handle, window, zc.HomeCombined);
                            delays?.Between(rank);
                            g.Complete(zc.Handle);
                        }
                        else
                        {
                            g.Combine(zc.Handle, window, zc.HomeCombined);
                        }
                        zc.CheckHome($"zero-copy combine op {op}", ProtocolExpected.Combined(c, world, batches, live, rank, op, weighted: true));

                        plain.Load(batches[rank]);
                        plain.Update();
                        plain.Dispatch();
                        plain.CheckDispatch(expected, batches);
                        Assert.Equal(RankMajorRows.Metadata(plain.Handle), RankMajorRows.Metadata(zc.Handle));
                        plain.Combine(op + 1);
                        plain.CheckHome($"plain combine op {op + 1}", ProtocolExpected.Combined(c, world, batches, live, rank, op + 1, weighted: true));
                    }
                    catch (Exception e) when (e is not XunitException)
                    {
                        throw new XunitException($"{what}, {c}, rank {rank}, round {round}: {e}");
                    }
                    catch (XunitException e)
                    {
                        throw new XunitException($"{what}, {c}, rank {rank}, round {round}: {e.Message}");
                    }
                }
            }, TimeSpan.FromMinutes(2));
        }
        finally
        {
            foreach (ProtocolRank r in zero.Concat(copy)) r.Dispose();
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

    /// <summary>
    /// Replays of a captured step with one dispatch-route operation move the window half on; the host's count follows
    /// them, so a zero-copy dispatch after 1, 2 and 3 replays still finds its rows where the peers wrote them.
    /// </summary>
    [Fact]
    public void After_graph_replays_the_window_rows_are_those_of_the_next_operation()
    {
        const int World = 2;
        EpConfig c = new(EpMode.LowLatency, NumExperts: 4, Hidden: 512, TopK: 2, MaxTokensPerRank: 4, EpLayout.RankMajor);
        bool[] live = [true, true];
        RankBatch[] stepBatches = Enumerable.Range(0, World).Select(r => CaseGenerator.Batch(new Random(40 + r), c, World)).ToArray();
        RankBatch[] batches = Enumerable.Range(0, World).Select(r => CaseGenerator.Batch(new Random(50 + r), c, World)).ToArray();
        EpGroup[] groups = EpGroup.CreateHost(c, World);
        var graphRanks = Array.ConvertAll(groups, g => new ProtocolRank(g));
        var zero = Array.ConvertAll(groups, g => new ProtocolRank(g));
        try
        {
            pool.For(World).Run(rank =>
            {
                ProtocolRank stepRank = graphRanks[rank], zc = zero[rank];
                EpGroup g = groups[rank];
                stepRank.Load(stepBatches[rank]);
                stepRank.Update();
                zc.Load(batches[rank]);
                zc.Update();
                using EpGraph graph = EpGraph.Capture(g, default, context =>
                    context.Group.Dispatch(stepRank.Handle, stepRank.HomeTokens, stepRank.LayoutReceived, context.Stream));
                for (int replays = 1; replays <= 3; replays++)
                {
                    graph.Replay();
                    EpTensor window = g.WindowReceiveRows();
                    g.Dispatch(zc.Handle, zc.HomeTokens, window);
                    int[] counts = HostView.Int32s(zc.Handle.ReceivedRankCounts);
                    ExpectedReceive expected = new ReferenceModel(c, World, batches, live).Receive(rank);
                    RankMajorRows.AssertSame(RankMajorRows.Expected(c, expected, batches), RankMajorRows.Read(c, window, counts), c.Hidden, $"after {replays} replays");
                    stepRank.CheckDispatch(new ReferenceModel(c, World, stepBatches, live).Receive(rank), stepBatches);
                }
            }, TimeSpan.FromMinutes(1));
        }
        finally
        {
            foreach (ProtocolRank r in graphRanks.Concat(zero)) r.Dispose();
            foreach (EpGroup g in groups) g.Dispose();
        }
    }
}
