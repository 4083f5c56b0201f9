using System;
using System.Runtime.CompilerServices;

namespace NcclEp.Interop;

/// <summary>An instantiated graph (cuGraphInstantiateWithFlags / cuGraphExecDestroy): launch, upload, update.</summary>
internal sealed class CudaGraphExecHandle : CudaContextBoundHandle
{
    private CudaGraphExecHandle(CudaPrimaryContext context)
        : base(context)
    {
    }

    protected override string DestroyCall => "cuGraphExecDestroy";

    /// <summary>Instantiates <paramref name="graph"/> (in the graph's context).</summary>
    public static CudaGraphExecHandle Instantiate(CudaGraphHandle graph, CuGraphInstantiateFlags flags = CuGraphInstantiateFlags.None)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var exec = new CudaGraphExecHandle(graph.Context);
        try
        {
            using (graph.Context.MakeCurrent())
            {
                exec.SetCreated(CudaDriver.cuGraphInstantiateWithFlags(out nint value, graph.Value, flags), value, "cuGraphInstantiateWithFlags");
            }

            return exec;
        }
        catch
        {
            exec.Dispose();
            throw;
        }
    }

    /// <summary>Launches on a stream (data path: a blittable binding, status returned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public CuResult Launch(nint stream) => CudaDriver.cuGraphLaunch(handle, stream);

    /// <summary>Uploads the graph's work to the device ahead of the first launch.</summary>
    public void Upload(nint stream) => Check.Cu(CudaDriver.cuGraphUpload(handle, stream), "cuGraphUpload");

    /// <summary>
    /// Updates the instantiated graph in place from a graph of the same topology. False (with the driver's
    /// reason in <paramref name="info"/>) when the driver refuses; then re-instantiate.
    /// </summary>
    public bool TryUpdate(CudaGraphHandle graph, out CuGraphExecUpdateResultInfo info)
    {
        ArgumentNullException.ThrowIfNull(graph);
        CuResult status = CudaDriver.cuGraphExecUpdate_v2(handle, graph.Value, out info);
        if (status == CuResult.ErrorGraphExecUpdateFailure)
        {
            return false;
        }

        Check.Cu(status, "cuGraphExecUpdate_v2");
        return true;
    }

    protected override CuResult Destroy(nint value) => CudaDriver.cuGraphExecDestroy(value);
}
