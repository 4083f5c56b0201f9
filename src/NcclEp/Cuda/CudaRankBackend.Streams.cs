using System.Collections.Generic;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>The rank's streams (<see cref="EpGroup.CreateStream"/>), destroyed with the rank (control path).</summary>
internal sealed unsafe partial class CudaRankBackend
{
    private readonly List<nint> _streams = new();

    /// <summary>
    /// A non-blocking stream on this rank's GPU. Co-located ranks each need one on a hardware work queue of its own, or
    /// their kernels would queue behind each other: theirs come from <see cref="ColocatedStreams"/>, which checks.
    /// </summary>
    public nint CreateStream()
    {
        nint stream;
        if (_fabric is ColocatedFabric colocated)
        {
            stream = colocated.Streams.Create(_rank, _kernels);
        }
        else
        {
            using CudaContextScope scope = _device.MakeCurrent();
            Check.Cu(CudaDriver.cuStreamCreate(out stream, CuStreamFlags.NonBlocking), "cuStreamCreate");
        }
        lock (_streams) _streams.Add(stream);
        return stream;
    }

    /// <summary>Destroys the rank's streams (work still queued on them completes first, as cuStreamDestroy promises).</summary>
    private void DestroyStreams()
    {
        nint[] streams;
        lock (_streams)
        {
            streams = _streams.ToArray();
            _streams.Clear();
        }
        foreach (nint stream in streams)
        {
            if (_fabric is ColocatedFabric colocated)
            {
                colocated.Streams.Destroy(stream);
                continue;
            }
            using CudaContextScope scope = CudaContextScope.TryEnter(_device.Context, out CuResult entered);
            if (entered == CuResult.Success) _ = NativeRelease.Accept(CudaDriver.cuStreamDestroy_v2(stream), "cuStreamDestroy_v2");
        }
    }

    public CudaDevice Device => _device;

    /// <summary>This rank's window at its local address (zero-copy receive: the rank-major rows are its messages).</summary>
    internal nint WindowBase => _fabric.Window(_rank);

    /// <summary>This rank's kernels (co-located ranks of one configuration share the module).</summary>
    internal CudaKernelModule Kernels => _kernels;

    /// <summary>The fabric joining the ranks (the bench's NCCL baseline uses its communicators).</summary>
    public CudaFabric Fabric => _fabric;
}
