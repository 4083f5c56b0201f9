using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>Streams for tools and tests that have none of their own (control path).</summary>
internal sealed unsafe partial class CudaRankBackend
{
    /// <summary>
    /// A non-blocking stream on this rank's GPU. Co-located ranks each need one on a hardware work queue of its own, or
    /// their kernels would queue behind each other: theirs come from <see cref="ColocatedStreams"/>, which checks.
    /// </summary>
    public nint CreateStream()
    {
        if (_fabric is ColocatedFabric colocated) return colocated.Streams.Create(_rank, _kernels);
        using CudaContextScope scope = _device.MakeCurrent();
        Check.Cu(CudaDriver.cuStreamCreate(out nint stream, CuStreamFlags.NonBlocking), "cuStreamCreate");
        return stream;
    }

    public void DestroyStream(nint stream)
    {
        if (_fabric is ColocatedFabric colocated)
        {
            colocated.Streams.Destroy(stream);
            return;
        }
        using CudaContextScope scope = _device.MakeCurrent();
        Check.Cu(CudaDriver.cuStreamDestroy_v2(stream), "cuStreamDestroy_v2");
    }

    public CudaDevice Device => _device;

    /// <summary>This rank's kernels (co-located ranks of one configuration share the module).</summary>
    internal CudaKernelModule Kernels => _kernels;

    /// <summary>The fabric joining the ranks (the bench's NCCL baseline uses its communicators).</summary>
    public CudaFabric Fabric => _fabric;
}
