using System;
using NcclEp;
using NcclEp.Testing;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.Bench;

/// <summary>
/// The bench backend of one child rank of <c>--procs</c>: the one group of this process (made by
/// <see cref="EpGroup.CreateCudaRank(EpConfig, int, int, int, NcclEp.Distributed.EpRendezvous, EpGroupOptions?)"/>), its own
/// non-blocking stream, CUDA-event timers, and a barrier across the processes (an NCCL all-reduce on the stream).
/// </summary>
internal sealed unsafe class ProcessBenchBackend : IBenchBackend
{
    private readonly EpGroup _group;
    private readonly CudaRankBackend _backend;
    private readonly NcclProcessFabric _fabric;
    private readonly nint _stream;

    public ProcessBenchBackend(EpGroup group)
    {
        _group = group;
        _backend = (CudaRankBackend)group.RankBackend;
        _fabric = (NcclProcessFabric)_backend.Fabric;
        _stream = group.CreateStream().Handle;  // owned by the group
    }

    public string Name => "cuda";

    public string Describe() => _group.FabricDescription;

    public void BindRankThread(int rank) => Check.Cu(CudaDriver.cuCtxSetCurrent(_backend.Device.Context), "cuCtxSetCurrent");

    public EpGroup[] CreateGroups(in EpConfig config, int ranks, EpGroupOptions options, RankThreads threads) =>
        throw new NotSupportedException("A child rank of --procs holds one group, made by EpGroup.CreateCudaRank.");

    public EpStream Stream(int rank) => new(_stream);

    public EpBuffer AllocateBuffer(EpGroup group, long bytes) => group.AllocateBuffer(bytes);

    public void Synchronize(EpGroup group, EpStream stream) => group.Synchronize(stream);

    public IPhaseTimer CreateTimer(EpGroup group, EpStream stream) => new CudaPhaseTimer(_backend.Device.Context, stream.Handle);

    public void CopyToHost(EpGroup group, nint source, Span<byte> destination)
    {
        using CudaContextScope scope = CudaContextScope.Enter(_backend.Device.Context);
        fixed (byte* d = destination) Check.Cu(CudaDriver.cuMemcpyDtoH_v2(d, source, (nuint)destination.Length), "cuMemcpyDtoH_v2");
    }

    public void CopyDevice(EpGroup group, EpStream stream, nint source, nint destination, long bytes)
    {
        using CudaContextScope scope = CudaContextScope.Enter(_backend.Device.Context);
        Check.Cu(CudaDriver.cuMemcpyDtoDAsync_v2(destination, source, (nuint)bytes, stream.Handle), "cuMemcpyDtoDAsync_v2");
    }

    /// <summary>Every process's rank meets here (all-reduce of one int on the rank's stream, then a host wait).</summary>
    public void Barrier() => _fabric.DeviceBarrier(_stream);

    /// <summary>Nothing to release: the stream belongs to the group, which the caller disposes.</summary>
    public void Dispose()
    {
    }
}
