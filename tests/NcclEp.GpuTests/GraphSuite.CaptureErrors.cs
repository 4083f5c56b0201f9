using System;
using System.Threading;
using NcclEp.Graphs;
using NcclEp.Interop;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>The graph suite's capture-error checks (first case only): refused captures, then graph-exec updates.</summary>
internal static partial class GraphSuite
{
    /// <summary>Capture errors on Cuda, then graph-exec update of the same and of another topology (both ranks together).</summary>
    private static void CheckCaptureErrors(
        EpGroup g, EpStream s, StepRig rig, EpGraph graph, RankBatch[] batches, byte[][] expected, Barrier barrier, RankReport report)
    {
        MoeStep step = rig.Step();
        Expect(report, "nested capture", "already capturing", () =>
            EpGraph.Capture(g, s, c => { MoeStep inner = step; EpGraph.Capture(c.Group, c.Stream, ref inner).Dispose(); }).Dispose());

        Check.Cu(CudaDriver.cuStreamBeginCapture_v2(s.Handle, CuStreamCaptureMode.ThreadLocal), "cuStreamBeginCapture_v2");
        try
        {
            Expect(report, "capture of a stream already capturing", "already being captured", () => EpGraph.Capture(g, s, ref step).Dispose());
        }
        finally
        {
            Check.Cu(CudaDriver.cuStreamEndCapture(s.Handle, out nint foreign), "cuStreamEndCapture");
            if (foreign != 0) _ = CudaDriver.cuGraphDestroy(foreign);
        }

        Expect(report, "Synchronize inside a capture", "EpGroup.Synchronize", () => EpGraph.Capture(g, s, c =>
        {
            step.Run(c);
            c.Group.Synchronize(c.Stream);
        }).Dispose());
        Expect(report, "CheckErrors inside a capture", "EpGroup.CheckErrors", () => EpGraph.Capture(g, s, c =>
        {
            step.Run(c);
            c.Group.CheckErrors();
        }).Dispose());
        Expect(report, "Download inside a capture", "EpBuffer.Download", () => EpGraph.Capture(g, s, c =>
        {
            step.Run(c);
            rig.Outputs();
        }).Dispose());
        Check.Cu(CudaDriver.cuStreamIsCapturing(s.Handle, out CuStreamCaptureStatus status), "cuStreamIsCapturing");
        if (status != CuStreamCaptureStatus.None) report.Failures.Add($"the stream is left capturing ({status}) after refused captures");

        // Update in place with the same topology, then a refused one (no experts): the graph still replays correctly.
        graph.Update(ref step);
        Expect(report, "update to another topology", "topology", () => graph.Update(c =>
        {
            MoeStep t = step;
            t.Handle.Update(in t.Ids, in t.Weights, c.Stream);
            c.Group.Dispatch(t.Handle, in t.X, in t.Received, c.Stream);
            c.Group.Combine(t.Handle, in t.ExpertOut, in t.Combined, c.Stream);
        }));
        for (int p = 1; p < 3; p++)
        {
            rig.Upload(batches[p]);
            Meet(barrier);
            graph.Replay();
            g.Synchronize(s);
            report.Checks++;
            Compare(rig.Outputs(), expected[p], $"replay {p} after graph updates", report);
            Meet(barrier);
        }

        // An eager step after all of it.
        rig.Upload(batches[3]);
        Meet(barrier);
        rig.RunEager(s);
        g.Synchronize(s);
        report.Checks++;
        Compare(rig.Outputs(), expected[3], "eager step after the capture errors", report);
        Meet(barrier);
    }

    private static void Expect(RankReport report, string what, string fragment, Action action)
    {
        try
        {
            action();
            report.Failures.Add($"{what}: no exception");
        }
        catch (InvalidOperationException e) when (e.Message.Contains(fragment, StringComparison.Ordinal))
        {
        }
        catch (Exception e)
        {
            report.Failures.Add($"{what}: {e.GetType().Name}: {e.Message} (expected InvalidOperationException with '{fragment}')");
        }
    }
}
