using System;
using System.Threading;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.GpuTests;

/// <summary>
/// Co-located ranks (one GPU): a rank that makes a stream while another rank's stream is being captured must not
/// probe that stream (EpGroup.CreateStream launches a waiter and a kernel into the streams it checks against). A probe
/// there would join the other rank's graph; the check is that the graph stays empty.
/// </summary>
internal static partial class GraphSuite
{
    private static unsafe void CheckStreamMadeDuringCapture(EpGroup[] groups, RankReport report)
    {
        var capturing = (CudaRankBackend)groups[0].RankBackend;
        Check.Cu(CudaDriver.cuCtxSetCurrent(capturing.Device.Context), "cuCtxSetCurrent");
        nint captured = groups[0].CreateStream().Handle;  // both streams are owned by their groups
        nint graph = 0;
        try
        {
            Check.Cu(CudaDriver.cuStreamBeginCapture_v2(captured, CuStreamCaptureMode.ThreadLocal), "cuStreamBeginCapture_v2");
            Exception? failure = null;
            // Another thread, as a rank thread would: ThreadLocal capture allows it to call anything.
            var maker = new Thread(() =>
            {
                try
                {
                    _ = groups[1].CreateStream();
                }
                catch (Exception e)
                {
                    failure = e;
                }
            });
            maker.Start();
            if (!maker.Join(TimeSpan.FromSeconds(30))) failure = new TimeoutException("CreateStream did not return within 30 s");
            Check.Cu(CudaDriver.cuStreamEndCapture(captured, out graph), "cuStreamEndCapture");
            nuint nodes = 0;
            if (graph != 0) Check.Cu(CudaDriver.cuGraphGetNodes(graph, null, &nodes), "cuGraphGetNodes");
            if (failure is not null) report.Failures.Add($"stream made during another rank's capture: {failure.GetType().Name}: {failure.Message}");
            else if (graph == 0) report.Failures.Add("stream made during another rank's capture: the capture was invalidated (no graph)");
            else if (nodes != 0) report.Failures.Add($"stream made during another rank's capture: {nodes} node(s) joined that rank's graph");
            else report.Checks++;
        }
        finally
        {
            if (graph != 0) _ = CudaDriver.cuGraphDestroy(graph);
        }
    }
}
