using System;
using System.Runtime.CompilerServices;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.Graphs.Recording;

/// <summary>
/// The Cuda side of an <see cref="EpGraph"/>: the rank's primary context (held for as long as the graph lives) and
/// the instantiated graph. Launch is one cuGraphLaunch.
/// </summary>
internal sealed class CudaStepGraph : IDisposable
{
    private readonly CudaDevice _device;
    private CudaGraphExecHandle? _exec;

    public CudaStepGraph(CudaRankBackend backend)
    {
        _device = backend.Device;
        Context = CudaPrimaryContext.Retain(_device.Ordinal);
    }

    /// <summary>The rank's primary context; graphs captured for this object live in it.</summary>
    public CudaPrimaryContext Context { get; }

    /// <summary>Nodes of the captured graph.</summary>
    public int NodeCount { get; private set; }

    /// <summary>Instantiates the first capture and uploads it on <paramref name="stream"/>.</summary>
    public void Instantiate(CudaGraphHandle graph, EpStream stream)
    {
        NodeCount = graph.NodeCount;
        _exec = CudaGraphExecHandle.Instantiate(graph);
        using CudaContextScope scope = _device.MakeCurrent();
        _exec.Upload(stream.Handle);
    }

    /// <summary>Updates the instantiated graph in place from a new capture (cuGraphExecUpdate_v2), or throws and keeps it.</summary>
    public void Update(CudaGraphHandle graph, string caller)
    {
        CuGraphExecUpdateResultInfo info;
        bool updated;
        using (CudaContextScope scope = _device.MakeCurrent())
        {
            updated = _exec!.TryUpdate(graph, out info);
        }
        if (!updated)
        {
            throw new InvalidOperationException(
                $"{caller}: the new capture does not match the instantiated graph's topology and kernels, so the driver refused to " +
                $"update it in place (cuGraphExecUpdate_v2: {Describe(info.Result)}). " +
                "The graph keeps replaying the step it had; capture a new EpGraph for a different step.");
        }
        NodeCount = graph.NodeCount;
    }

    /// <summary>Launches the graph on <paramref name="stream"/> (data path: no allocation).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Launch(nint stream)
    {
        using CudaContextScope scope = _device.MakeCurrent();
        Check.Cu(_exec!.Launch(stream), "cuGraphLaunch");
    }

    private static string Describe(CuGraphExecUpdateResult result) => result switch
    {
        CuGraphExecUpdateResult.ErrorTopologyChanged => "the topology changed: a call or a piece of work was added, removed or reordered",
        CuGraphExecUpdateResult.ErrorNodeTypeChanged => "a node changed type (e.g. a kernel became a copy)",
        CuGraphExecUpdateResult.ErrorFunctionChanged or CuGraphExecUpdateResult.ErrorUnsupportedFunctionChange =>
            "a node runs a different kernel (e.g. a pass changed between Forward and Backward)",
        CuGraphExecUpdateResult.ErrorParametersChanged => "a node's parameters changed in a way that cannot be updated",
        CuGraphExecUpdateResult.ErrorAttributesChanged => "a node's attributes changed",
        CuGraphExecUpdateResult.ErrorNotSupported => "the change is not supported by in-place update",
        _ => $"result {(int)result}",
    };

    /// <summary>Idempotent: the graph and, before it, its group's disposal may both call it.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _exec?.Dispose();
        _exec = null;
        Context.Dispose();
    }

    private bool _disposed;
}
