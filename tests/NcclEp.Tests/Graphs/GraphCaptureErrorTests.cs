using System;
using NcclEp.Graphs;
using Xunit;

namespace NcclEp.Tests.Graphs;

/// <summary>
/// What a captured step may not do, and what may not be done to a graph: each is refused with the right exception
/// naming the call, the capture ends anyway, and the group goes on working (eagerly and with a new capture).
/// </summary>
public sealed class GraphCaptureErrorTests : IDisposable
{
    private const int Tokens = 4;
    private readonly EpGroup _group;
    private readonly GraphRankRig _rig;

    public GraphCaptureErrorTests()
    {
        _group = EpGroup.CreateHost(GraphReplayTests.Config(EpMode.LowLatency, EpLayout.ExpertMajor, 1), 1)[0];
        _rig = new GraphRankRig(_group);
        _rig.Upload(GraphWorld.FixedBatch(new Random(3), _group.Config, Tokens));
    }

    public void Dispose()
    {
        _rig.Dispose();
        _group.Dispose();
    }

    public static TheoryData<string> RefusedCalls() => new()
    {
        "EpGroup.Synchronize",
        "EpGroup.CheckErrors",
        "EpGroup.AllocateBuffer",
        "EpGroup.CreateHandle",
        "EpGroup.CreateStream",
        "EpGroup.SetActiveRanks",
        "EpBuffer.Download",
        "EpBuffer.Upload",
        "EpBuffer.Fill",
        "EpGroup.DownloadToArray",
        "EpGroup.Download2D",
        "EpGroup.DownloadTo",
    };

    [Theory]
    [MemberData(nameof(RefusedCalls))]
    public void A_call_that_needs_the_host_inside_a_capture_is_refused_by_name(string call)
    {
        MoeTrainingStep step = _rig.Step(Tokens);
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => EpGraph.Capture(_group, default, c =>
        {
            step.Handle.Update(in step.Ids, in step.Weights, c.Stream);
            c.Group.Dispatch(step.Handle, in step.X, in step.Received, c.Stream);
            MakeRefusedCall(call, c.Group);
        }));
        Assert.Contains(call, e.Message, StringComparison.Ordinal);
        AssertGroupStillWorks();
    }

    [Fact]
    public void A_capture_inside_a_capture_of_the_same_group_is_refused()
    {
        MoeTrainingStep step = _rig.Step(Tokens);
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => EpGraph.Capture(_group, default, c =>
        {
            MoeTrainingStep inner = step;
            using EpGraph nested = EpGraph.Capture(c.Group, c.Stream, ref inner);
        }));
        Assert.Contains("already capturing", e.Message, StringComparison.Ordinal);
        Assert.Contains("EpGraph.Capture", e.Message, StringComparison.Ordinal);
        AssertGroupStillWorks();
    }

    [Fact]
    public void A_replay_inside_a_capture_is_refused()
    {
        MoeTrainingStep step = _rig.Step(Tokens);
        using EpGraph graph = EpGraph.Capture(_group, default, ref step);
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => EpGraph.Capture(_group, default, c => graph.Replay()));
        Assert.Contains("EpGraph.Replay", e.Message, StringComparison.Ordinal);
        AssertGroupStillWorks();
    }

    [Fact]
    public void An_exception_from_the_step_ends_the_capture_and_propagates_unchanged()
    {
        MoeTrainingStep step = _rig.Step(Tokens);
        var thrown = new FormatException("the caller's own failure");
        FormatException e = Assert.Throws<FormatException>(() => EpGraph.Capture(_group, default, c =>
        {
            step.Handle.Update(in step.Ids, in step.Weights, c.Stream);
            throw thrown;
        }));
        Assert.Same(thrown, e);
        AssertGroupStillWorks();
    }

    [Fact]
    public void Bad_input_inside_a_capture_is_rejected_by_the_launch_stub_as_it_is_eagerly()
    {
        MoeTrainingStep step = _rig.Step(Tokens);
        EpTensor wrongTopK = _rig.Ids.As2D(EpDataType.Int32, Tokens, _group.Config.TopK + 1);
        ArgumentException e = Assert.Throws<ArgumentException>(() => EpGraph.Capture(_group, default, c =>
            step.Handle.Update(in wrongTopK, in step.Weights, c.Stream)));
        Assert.Equal("topkIds", e.ParamName);
        AssertGroupStillWorks();
    }

    [Fact]
    public void Replay_after_the_group_is_disposed_throws_ObjectDisposedException_naming_the_group()
    {
        EpGroup group = EpGroup.CreateHost(_group.Config, 1)[0];
        var rig = new GraphRankRig(group);
        MoeTrainingStep step = rig.Step(Tokens);
        EpGraph graph = EpGraph.Capture(group, default, ref step);
        rig.Dispose();
        group.Dispose();
        ObjectDisposedException e = Assert.Throws<ObjectDisposedException>(() => graph.Replay());
        Assert.Equal(nameof(EpGroup), e.ObjectName);
        Assert.Contains("EpGraph.Replay", e.Message, StringComparison.Ordinal);
        Assert.Throws<ObjectDisposedException>(() => graph.Update(ref step));
        graph.Dispose();
    }

    [Fact]
    public void Replay_after_the_graph_or_a_handle_it_uses_is_disposed_throws_ObjectDisposedException()
    {
        MoeTrainingStep step = _rig.Step(Tokens);
        EpGraph graph = EpGraph.Capture(_group, default, ref step);
        graph.Dispose();
        Assert.True(graph.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => graph.Replay());

        using EpHandle other = _group.CreateHandle();
        step.Handle = other;
        using EpGraph onOther = EpGraph.Capture(_group, default, ref step);
        other.Dispose();
        ObjectDisposedException e = Assert.Throws<ObjectDisposedException>(() => onOther.Replay());
        Assert.Equal(nameof(EpHandle), e.ObjectName);
    }

    [Fact]
    public void A_context_used_after_its_step_returned_is_refused()
    {
        EpStepContext? kept = null;
        MoeTrainingStep step = _rig.Step(Tokens);
        using EpGraph graph = EpGraph.Capture(_group, default, c =>
        {
            kept = c;
            Assert.True(c.IsCapturing);
            step.Run(c);
        });
        Assert.Throws<InvalidOperationException>(() => kept!.Work(step.Experts));
    }

    [Fact]
    public void Arguments_are_checked()
    {
        MoeTrainingStep step = _rig.Step(Tokens);
        Assert.Throws<ArgumentNullException>(() => EpGraph.Capture(null!, default, ref step));
        Assert.Throws<ArgumentNullException>(() => EpGraph.Capture(_group, default, (Action<EpStepContext>)null!));
        Assert.Throws<ArgumentNullException>(() => EpGraph.Capture(_group, default, c => c.Work((IEpStepWork)null!)));
        AssertGroupStillWorks();
    }

    private void MakeRefusedCall(string call, EpGroup g)
    {
        var bytes = new byte[16];
        switch (call)
        {
            case "EpGroup.Synchronize": g.Synchronize(); break;
            case "EpGroup.CheckErrors": g.CheckErrors(); break;
            case "EpGroup.AllocateBuffer": g.AllocateBuffer(64).Dispose(); break;
            case "EpGroup.CreateHandle": g.CreateHandle().Dispose(); break;
            case "EpGroup.CreateStream": g.CreateStream(); break;
            case "EpGroup.SetActiveRanks": g.SetActiveRanks([true]); break;
            case "EpBuffer.Download": _rig.Combined.Download<byte>(bytes); break;
            case "EpBuffer.Upload": _rig.X.Upload<byte>(bytes); break;
            case "EpBuffer.Fill": _rig.Combined.Fill(0); break;
            case "EpGroup.DownloadToArray": g.DownloadToArray<int>(_rig.Handle.ReceivedExpertCounts); break;
            case "EpGroup.Download2D": g.Download2D<int>(_rig.Handle.ReceivedSourceInfo); break;
            case "EpGroup.DownloadTo": g.DownloadTo<int>(_rig.Combined.As2D(EpDataType.Int32, 1, 4), new int[4]); break;
            default: throw new ArgumentException(call, nameof(call));
        }
    }

    /// <summary>After a refused capture nothing is left installed: host transfers, eager calls and a new capture all work, and replay equals eager.</summary>
    private void AssertGroupStillWorks()
    {
        _rig.Upload(GraphWorld.FixedBatch(new Random(4), _group.Config, Tokens));
        _rig.RunEager(Tokens);
        byte[] eager = Combined();
        _rig.Combined.Fill(0xEE);
        MoeTrainingStep step = _rig.Step(Tokens);
        using EpGraph graph = EpGraph.Capture(_group, default, ref step);
        graph.Replay();
        Assert.Equal(eager, Combined());
        _group.CheckErrors();
        _group.Synchronize();
    }

    private byte[] Combined()
    {
        var bytes = new byte[Tokens * _group.Config.RowBytes];
        _rig.Combined.Download<byte>(bytes);
        return bytes;
    }
}
