using System;
using NcclEp.Graphs;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests.Graphs;

/// <summary>Replay is on the data path: on every rank thread, 1,000 replays of a captured step allocate 0 bytes.</summary>
[Collection(SerialCollection.Name)]
public class GraphAllocationTests
{
    private const int World = 2, WarmUp = 50, Replays = 1_000;

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, 1)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, 1)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, 1)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, 4)]
    public void A_thousand_replays_allocate_nothing_on_any_rank(EpMode mode, EpLayout layout, int alignment)
    {
        using var w = new GraphWorld(GraphReplayTests.Config(mode, layout, alignment), World);
        w.UploadNewInputs(new Random(1));
        w.CaptureAll();
        var allocated = new long[World];
        w.Threads.Run(r =>
        {
            EpGraph graph = w.Graphs[r];
            for (int i = 0; i < WarmUp; i++) graph.Replay();
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < Replays; i++) graph.Replay();
            allocated[r] = GC.GetAllocatedBytesForCurrentThread() - before;
        }, TimeSpan.FromMinutes(3));
        Assert.Equal(new long[World], allocated);

        // And the thousand replays left the same result as one eager step.
        w.Threads.Run(r => w.EagerRigs[r].RunEager(w.Tokens[r]));
        w.AssertOutputsEqual("after 1,050 replays");
    }
}
