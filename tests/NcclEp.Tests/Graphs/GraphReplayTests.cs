using System;
using NcclEp.Graphs;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests.Graphs;

/// <summary>
/// A captured step replayed with new tokens and new routing written into the same buffers before each replay gives,
/// on every rank, exactly the bytes that eager execution of the same calls gives: every mode and layout, 1 to 4 ranks,
/// forward and backward in one step.
/// </summary>
public class GraphReplayTests
{
    private const int Rounds = 4;

    public static TheoryData<EpMode, EpLayout, int, EpDataType, int> Cases()
    {
        var data = new TheoryData<EpMode, EpLayout, int, EpDataType, int>();
        (EpMode, EpLayout, int)[] kinds =
        [
            (EpMode.LowLatency, EpLayout.ExpertMajor, 1),
            (EpMode.LowLatency, EpLayout.RankMajor, 1),
            (EpMode.HighThroughput, EpLayout.Flat, 1),
            (EpMode.HighThroughput, EpLayout.ExpertMajor, 1),
            (EpMode.HighThroughput, EpLayout.ExpertMajor, 4),
        ];
        foreach ((EpMode mode, EpLayout layout, int alignment) in kinds)
        {
            for (int world = 1; world <= 4; world++) data.Add(mode, layout, alignment, EpDataType.BFloat16, world);
        }
        data.Add(EpMode.LowLatency, EpLayout.ExpertMajor, 1, EpDataType.Float32, 2);
        data.Add(EpMode.HighThroughput, EpLayout.Flat, 1, EpDataType.Float32, 3);
        return data;
    }

    internal static EpConfig Config(EpMode mode, EpLayout layout, int alignment, EpDataType type = EpDataType.BFloat16) =>
        new(mode, NumExperts: 12, Hidden: 512, TopK: 3, MaxTokensPerRank: mode == EpMode.LowLatency ? 6 : 10, layout, type,
            ExpertAlignment: alignment);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Replay_with_new_inputs_equals_eager_execution_bit_for_bit(EpMode mode, EpLayout layout, int alignment, EpDataType type, int world)
    {
        using var w = new GraphWorld(Config(mode, layout, alignment, type), world);
        w.CaptureAll();
        var rng = new Random(CaseGenerator.Seed((int)mode, (int)layout, alignment, (int)type, world));
        for (int round = 0; round < Rounds; round++)
        {
            w.UploadNewInputs(rng);
            w.ReplayAndCompare($"replay {round}");
        }
    }

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, 1)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, 1)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, 1)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, 4)]
    public void Replay_of_a_dispatch_that_routes_itself_with_new_routing_equals_eager_update_then_dispatch(EpMode mode, EpLayout layout, int alignment)
    {
        // The routing is read when the replay runs: each round writes other experts into the captured ids buffer.
        using var w = new GraphWorld(Config(mode, layout, alignment), 3);
        w.CaptureAll(routed: true);
        var rng = new Random(CaseGenerator.Seed(19, (int)mode, (int)layout, alignment));
        for (int round = 0; round < Rounds; round++)
        {
            w.UploadNewInputs(rng);
            w.ReplayAndCompare($"replay {round}");
        }
    }

    [Fact]
    public void Replays_and_eager_calls_interleave_on_the_same_group()
    {
        // The sequence numbers live in the window, not in the graph: eager calls between replays keep every rank in step.
        using var w = new GraphWorld(Config(EpMode.LowLatency, EpLayout.ExpertMajor, 1), 3);
        w.CaptureAll();
        var rng = new Random(11);
        for (int round = 0; round < 3; round++)
        {
            w.UploadNewInputs(rng);
            w.ReplayAndCompare($"replay {round}");
            w.UploadNewInputs(rng);
            w.Threads.Run(r => w.GraphRigs[r].RunEager(w.Tokens[r]));
            w.Threads.Run(r => w.EagerRigs[r].RunEager(w.Tokens[r]));
            w.AssertOutputsEqual($"eager call after replay {round}");
        }
    }

    [Fact]
    public void The_step_runs_once_per_capture_and_its_work_at_every_replay()
    {
        EpConfig config = Config(EpMode.LowLatency, EpLayout.RankMajor, 1);
        using EpGroup group = EpGroup.CreateHost(config, 1)[0];
        using var rig = new GraphRankRig(group);
        rig.Upload(GraphWorld.FixedBatch(new Random(2), config, 4));
        int workRuns = 0, stepRuns = 0;
        MoeTrainingStep inner = rig.Step(4, backward: false);
        using EpGraph graph = EpGraph.Capture(group, default, c =>
        {
            stepRuns++;
            inner.Handle.Update(in inner.Ids, in inner.Weights, c.Stream);
            c.Group.Dispatch(inner.Handle, in inner.X, in inner.Received, c.Stream);
            c.Work(s => { workRuns++; inner.Experts.Execute(s); });
            c.Group.Combine(inner.Handle, in inner.ExpertOut, in inner.Combined, c.Stream);
        });
        Assert.Equal((1, 0), (stepRuns, workRuns));
        Assert.Equal(4, graph.NodeCount);
        for (int i = 0; i < 5; i++) graph.Replay();
        Assert.Equal((1, 5), (stepRuns, workRuns));

        MoeTrainingStep structStep = rig.Step(4, backward: false);
        using EpGraph second = EpGraph.Capture(group, default, ref structStep);
        Assert.Equal(1, structStep.Runs);
    }

    [Fact]
    public void Capture_runs_nothing_and_reads_nothing_from_the_buffers()
    {
        EpConfig config = Config(EpMode.HighThroughput, EpLayout.Flat, 1);
        using var w = new GraphWorld(config, 2);
        // Routing that eager Update would reject (expert 999), and outputs full of poison: capture must not notice either.
        foreach (GraphRankRig rig in w.GraphRigs)
        {
            var bad = new int[config.MaxTokensPerRank * config.TopK];
            Array.Fill(bad, 999);
            rig.Ids.Upload<int>(bad);
        }
        byte[][] before = Array.ConvertAll(w.GraphRigs, rig => Snapshot(rig.Combined));
        byte[][] stateBefore = Array.ConvertAll(w.GraphRigs, rig => State(rig.Handle));
        w.CaptureAll();
        for (int r = 0; r < w.World; r++)
        {
            Assert.Equal(before[r], Snapshot(w.GraphRigs[r].Combined));
            Assert.Equal(stateBefore[r], State(w.GraphRigs[r].Handle));
        }
        w.UploadNewInputs(new Random(5));
        w.ReplayAndCompare("first replay after a capture over bad routing");
    }

    private static byte[] Snapshot(EpBuffer buffer)
    {
        var bytes = new byte[buffer.Bytes];
        buffer.Download<byte>(bytes);
        return bytes;
    }

    /// <summary>The whole routing state of a handle (<see cref="HandleState"/>: at <c>EpHandle.State</c>).</summary>
    private static byte[] State(EpHandle handle)
    {
        var bytes = new byte[handle.Layout.TotalBytes];
        HandleState.Read<byte>(handle, handle.State, bytes);
        return bytes;
    }
}
