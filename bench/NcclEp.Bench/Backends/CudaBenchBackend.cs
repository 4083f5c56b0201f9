using System;
using System.Linq;
using NcclEp;
using NcclEp.Testing;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.Bench;

/// <summary>
/// Runs the bench on GPUs: one GPU per rank when there are enough, else every rank co-located on GPU 0.
/// Each rank gets its own non-blocking stream; phases are timed with CUDA events on it.
/// </summary>
internal sealed unsafe class CudaBenchBackend : IBenchBackend
{
    private EpGroup[] _groups = [];
    private nint[] _streams = [];
    private string _fabric = "ranks not connected yet";

    public string Name => "cuda";

    public string Describe()
    {
        CudaDriver.Initialize();
        Check.Cu(CudaDriver.cuDeviceGetCount(out int count), "cuDeviceGetCount");
        string nccl = Nccl.TryLoad(out _) ? $"NCCL {Nccl.FormatVersion(Nccl.GetVersion())}" : "no NCCL";
        int driver = CudaDriver.GetDriverVersion();
        return $"cuda ({count}× {CudaDriver.GetDeviceName(0)}, CUDA driver API {driver / 1000}.{driver % 1000 / 10}, {nccl}; {_fabric})";
    }

    public void BindRankThread(int rank)
    {
        if (rank < _groups.Length) Check.Cu(CudaDriver.cuCtxSetCurrent(Backend(rank).Device.Context), "cuCtxSetCurrent");
    }

    public EpGroup[] CreateGroups(in EpConfig config, int ranks, EpGroupOptions options, RankThreads threads)
    {
        CudaDriver.Initialize();
        Check.Cu(CudaDriver.cuDeviceGetCount(out int count), "cuDeviceGetCount");
        int[] devices = count >= ranks ? Enumerable.Range(0, ranks).ToArray() : new int[ranks];
        _groups = EpGroup.CreateCuda(config, devices, options);
        _fabric = _groups[0].FabricDescription;
        _streams = new nint[ranks];
        for (int r = 0; r < ranks; r++) _streams[r] = _groups[r].CreateStream().Handle;  // one at a time: co-located ranks need that
        return _groups;
    }

    public EpStream Stream(int rank) => new(_streams[rank]);

    public EpBuffer AllocateBuffer(EpGroup group, long bytes) => group.AllocateBuffer(bytes);

    public void Synchronize(EpGroup group, EpStream stream) => group.Synchronize(stream);

    public IPhaseTimer CreateTimer(EpGroup group, EpStream stream) => new CudaPhaseTimer(Backend(group.Rank).Device.Context, stream.Handle);

    public void CopyToHost(EpGroup group, nint source, Span<byte> destination)
    {
        using CudaContextScope scope = CudaContextScope.Enter(Backend(group.Rank).Device.Context);
        fixed (byte* d = destination) Check.Cu(CudaDriver.cuMemcpyDtoH_v2(d, source, (nuint)destination.Length), "cuMemcpyDtoH_v2");
    }

    public void CopyDevice(EpGroup group, EpStream stream, nint source, nint destination, long bytes)
    {
        using CudaContextScope scope = CudaContextScope.Enter(Backend(group.Rank).Device.Context);
        Check.Cu(CudaDriver.cuMemcpyDtoDAsync_v2(destination, source, (nuint)bytes, stream.Handle), "cuMemcpyDtoDAsync_v2");
    }

    private CudaRankBackend Backend(int rank) => (CudaRankBackend)_groups[rank].RankBackend;

    /// <summary>The streams belong to the groups, which the runner disposes.</summary>
    public void Dispose() => _streams = [];
}
