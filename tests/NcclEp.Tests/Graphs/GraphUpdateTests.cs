using System;
using NcclEp.Graphs;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests.Graphs;

/// <summary>
/// <see cref="EpGraph.Update{TStep}(ref TStep)"/>: a step of the same topology with new parameters (token counts,
/// buffers) is taken in place and replays like eager execution; a step of another topology is refused, and the
/// graph keeps replaying the step it had.
/// </summary>
public class GraphUpdateTests
{
    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, 1)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, 1)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, 1)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, 4)]
    public void Update_to_other_token_counts_replays_like_eager_execution(EpMode mode, EpLayout layout, int alignment)
    {
        EpConfig config = GraphReplayTests.Config(mode, layout, alignment);
        using var w = new GraphWorld(config, 3);
        w.CaptureAll();
        var rng = new Random(21);
        w.UploadNewInputs(rng);
        w.ReplayAndCompare("before the update");

        for (int r = 0; r < w.World; r++) w.Tokens[r] = 1 + ((r + 2) % config.MaxTokensPerRank);
        int nodes = w.Graphs[0].NodeCount;
        w.Threads.Run(r =>
        {
            MoeTrainingStep step = w.GraphRigs[r].Step(w.Tokens[r]);
            w.Graphs[r].Update(ref step);
        });
        Assert.Equal(nodes, w.Graphs[0].NodeCount);
        for (int round = 0; round < 3; round++)
        {
            w.UploadNewInputs(rng);
            w.ReplayAndCompare($"replay {round} after the update");
        }
    }

    public static TheoryData<string> ChangedTopologies() => new() { "fewer calls", "extra work", "other pass", "work for a call" };

    [Theory]
    [MemberData(nameof(ChangedTopologies))]
    public void Update_to_another_topology_is_refused_and_the_graph_keeps_its_step(string change)
    {
        using var w = new GraphWorld(GraphReplayTests.Config(EpMode.LowLatency, EpLayout.RankMajor, 1), 2);
        w.CaptureAll(backward: false);
        var errors = w.Threads.RunCollect(r =>
        {
            MoeTrainingStep s = w.GraphRigs[r].Step(w.Tokens[r], backward: false);
            w.Graphs[r].Update(c =>
            {
                s.Handle.Update(in s.Ids, in s.Weights, c.Stream);
                c.Group.Dispatch(s.Handle, in s.X, in s.Received, c.Stream);
                if (change == "work for a call") c.Work(s.Experts);
                c.Work(s.Experts);
                if (change == "extra work") c.Work(s.Experts);
                if (change == "other pass") c.Group.Combine(s.Handle, in s.ExpertOut, in s.Combined, c.Stream, EpPass.Backward);
                else if (change is not ("fewer calls" or "work for a call")) c.Group.Combine(s.Handle, in s.ExpertOut, in s.Combined, c.Stream);
            });
        });
        foreach (Exception? e in errors)
        {
            var refused = Assert.IsType<InvalidOperationException>(e);
            Assert.Contains("EpGraph.Update", refused.Message, StringComparison.Ordinal);
            Assert.Contains("topology", refused.Message, StringComparison.Ordinal);
        }

        // The old graph still replays its own step, on both ranks, correctly.
        var rng = new Random(8);
        for (int round = 0; round < 2; round++)
        {
            w.UploadNewInputs(rng);
            w.ReplayAndCompare($"replay {round} after the refused update", backward: false);
        }
    }

    [Fact]
    public void Update_can_move_the_step_to_other_buffers()
    {
        using var w = new GraphWorld(GraphReplayTests.Config(EpMode.HighThroughput, EpLayout.Flat, 1), 2);
        w.CaptureAll();
        var spare = new GraphRankRig[w.World];
        try
        {
            for (int r = 0; r < w.World; r++) spare[r] = new GraphRankRig(w.GraphRigs[r].Group);
            w.Threads.Run(r =>
            {
                MoeTrainingStep step = spare[r].Step(w.Tokens[r]);
                w.Graphs[r].Update(ref step);
            });
            var rng = new Random(13);
            for (int round = 0; round < 2; round++)
            {
                for (int r = 0; r < w.World; r++)
                {
                    RankBatch batch = GraphWorld.FixedBatch(rng, w.Config, w.Tokens[r]);
                    spare[r].Upload(batch);
                    w.EagerRigs[r].Upload(batch);
                }
                w.Threads.Run(r => w.Graphs[r].Replay());
                w.Threads.Run(r => w.EagerRigs[r].RunEager(w.Tokens[r]));
                for (int r = 0; r < w.World; r++)
                    GraphWorld.AssertSame(w.EagerRigs[r].Snapshot(w.Tokens[r]), spare[r].Snapshot(w.Tokens[r]), $"replay {round}, rank {r}");
            }
        }
        finally
        {
            // The graph uses the spare rigs' handles now: dispose it before them.
            foreach (EpGraph g in w.Graphs) g.Dispose();
            foreach (GraphRankRig? rig in spare) rig?.Dispose();
        }
    }
}
