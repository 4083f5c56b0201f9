using System;
using NcclEp.Graphs;
using NcclEp.Testing;
using NcclEp.Tests.Graphs;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests.Overlap;

/// <summary>
/// Send/complete inside NcclEp.Graphs (issue 22, item 2): a step that splits every call, with the caller's work between
/// each send and its complete, replays with new inputs to exactly the bytes of the plain calls run eagerly, and replays
/// allocate nothing. A step that leaves a send open, and a capture or replay while an eager send is in flight, are refused.
/// </summary>
public sealed class SendCompleteGraphTests
{
    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, 1, 3)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, 1, 2)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, 1, 3)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, 4, 2)]
    public void A_captured_step_of_sends_and_completes_replays_to_the_plain_calls_bytes(EpMode mode, EpLayout layout, int alignment, int world)
    {
        using var w = new GraphWorld(GraphReplayTests.Config(mode, layout, alignment), world);
        var scratch = new EpBuffer[world];
        try
        {
            w.Threads.Run(r =>
            {
                scratch[r] = w.GraphRigs[r].Group.AllocateBuffer(2L * 64 * sizeof(float));
                var step = new SplitStep(w.GraphRigs[r].Step(w.Tokens[r]), scratch[r]);
                w.Graphs[r] = EpGraph.Capture(w.GraphRigs[r].Group, default, ref step);
                Assert.Equal(1, step.Runs);
            });
            var rng = new Random(CaseGenerator.Seed(22, 5, (int)mode, (int)layout, world));
            for (int round = 0; round < 3; round++)
            {
                w.UploadNewInputs(rng);
                w.ReplayAndCompare($"replay {round}");
            }

            var allocated = new long[world];
            w.Threads.Run(r =>
            {
                w.Graphs[r].Replay();
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < 50; i++) w.Graphs[r].Replay();
                allocated[r] = GC.GetAllocatedBytesForCurrentThread() - before;
            });
            Assert.Equal(new long[world], allocated);
        }
        finally
        {
            foreach (EpBuffer? b in scratch) b?.Dispose();
        }
    }

    [Fact]
    public void A_step_that_leaves_a_send_open_is_refused_and_the_group_keeps_no_send_in_flight()
    {
        using var rank = new SingleRank();
        rank.RouteAndDispatch();
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => EpGraph.Capture(rank.Group, default, context =>
            context.Group.CombineSend(rank.Handle, rank.ReceivedT, rank.CombinedT(), context.Stream)).Dispose());
        Assert.Contains("in flight at the end of the step", e.Message, StringComparison.Ordinal);
        Assert.False(rank.Handle.HasSendInFlight);
        rank.Group.Combine(rank.Handle, rank.ReceivedT, rank.CombinedT());  // the route is free: nothing ran
    }

    [Fact]
    public void Capturing_or_replaying_while_an_eager_send_is_in_flight_is_refused()
    {
        using var rank = new SingleRank();
        rank.RouteAndDispatch();
        using EpGraph graph = EpGraph.Capture(rank.Group, default, context =>
            context.Group.Combine(rank.Handle, rank.ReceivedT, rank.CombinedT(), context.Stream));
        rank.Group.CombineSend(rank.Handle, rank.ReceivedT, rank.CombinedT());
        Assert.Contains("before the replay", Assert.Throws<InvalidOperationException>(graph.Replay).Message, StringComparison.Ordinal);
        Assert.Contains("before the step", Assert.Throws<InvalidOperationException>(() =>
            EpGraph.Capture(rank.Group, default, context => context.Group.Complete(rank.Handle, context.Stream)).Dispose()).Message, StringComparison.Ordinal);
        Assert.True(rank.Handle.HasSendInFlight);
        rank.Group.Complete(rank.Handle);
        graph.Replay();
    }

    /// <summary>
    /// The graph tests' training step with every call split, and unrelated work of the caller (a scale of scratch rows,
    /// standing for another micro-batch's attention) between each send and its complete.
    /// </summary>
    private struct SplitStep(MoeTrainingStep s, EpBuffer scratch) : IEpStep
    {
        private readonly DoubleScratchWork _otherWork = new(scratch.Pointer, 64);

        public int Runs { get; private set; }

        public void Run(EpStepContext context)
        {
            Runs++;
            EpGroup g = context.Group;
            EpStream stream = context.Stream;
            s.Handle.Update(in s.Ids, in s.Weights, stream);
            g.DispatchSend(s.Handle, in s.X, in s.Received, stream);
            context.Work(_otherWork);
            g.Complete(s.Handle, stream);
            context.Work(s.Experts);
            g.CombineSend(s.Handle, in s.ExpertOut, in s.Combined, stream);
            context.Work(_otherWork);
            g.Complete(s.Handle, stream);
            g.CombineSend(s.Handle, in s.LayoutGrad, in s.TokenGrad, stream, EpPass.Backward);
            context.Work(_otherWork);
            g.Complete(s.Handle, stream);
            context.Work(s.ExpertsBackward);
            g.DispatchSend(s.Handle, in s.XGrad, in s.ExpertGrad, stream, EpPass.Backward);
            context.Work(_otherWork);
            g.Complete(s.Handle, stream);
        }
    }

    /// <summary>The caller's unrelated work: doubles the first <paramref name="count"/> floats of its scratch in place; allocates nothing.</summary>
    private readonly unsafe struct DoubleScratchWork(nint scratch, int count) : IEpStepWork
    {
        public void Execute(EpStream stream)
        {
            var values = (float*)scratch;
            for (int i = 0; i < count; i++) values[i] *= 2f;
        }
    }
}
