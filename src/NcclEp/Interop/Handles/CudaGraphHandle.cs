namespace NcclEp.Interop;

/// <summary>A CUgraph made by stream capture (cuStreamEndCapture / cuGraphDestroy).</summary>
internal sealed unsafe class CudaGraphHandle : CudaContextBoundHandle
{
    private CudaGraphHandle(CudaPrimaryContext context)
        : base(context)
    {
    }

    protected override string DestroyCall => "cuGraphDestroy";

    /// <summary>Ends capture on <paramref name="stream"/> and takes ownership of the captured graph.</summary>
    public static CudaGraphHandle EndCapture(CudaPrimaryContext context, nint stream)
    {
        var graph = new CudaGraphHandle(context);
        try
        {
            using (context.MakeCurrent())
            {
                graph.SetCreated(CudaDriver.cuStreamEndCapture(stream, out nint value), value, "cuStreamEndCapture");
            }

            return graph;
        }
        catch
        {
            graph.Dispose();
            throw;
        }
    }

    /// <summary>How many nodes the graph holds.</summary>
    public int NodeCount
    {
        get
        {
            nuint count = 0;
            Check.Cu(CudaDriver.cuGraphGetNodes(handle, null, &count), "cuGraphGetNodes");
            return checked((int)count);
        }
    }

    protected override CuResult Destroy(nint value) => CudaDriver.cuGraphDestroy(value);
}
