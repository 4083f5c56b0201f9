using System;
using NcclEp.Distributed;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// One rank of a group whose ranks are separate processes, one GPU each: an NCCL communicator joined with
/// ncclCommInitRank (the unique id came through an <see cref="EpRendezvous"/>), this rank's window from
/// ncclMemAlloc registered with ncclCommWindowRegister (collective: every process registers its window once,
/// in the same order and size), and peers reached at the window's LSA addresses (docs/nccl-lsa.md). No CUDA IPC.
/// </summary>
/// <remarks>
/// Only this process's rank is here, so <see cref="Device"/>, <see cref="Window"/> and <see cref="PeerWindow"/>
/// answer for that rank and refuse any other (the CudaRankBackend of this rank asks only for its own). The
/// addressing is proven before use as for the other fabrics, split across processes: each rank writes its stamp,
/// all ranks pass the rendezvous barrier, each reads every peer's stamp through its LSA addresses, and a last
/// barrier makes every rank wait until all of them passed (so a failed check fails the group on every rank).
/// </remarks>
internal sealed unsafe class NcclProcessFabric : CudaFabric
{
    private readonly int _rank;
    private readonly CudaDevice _device;
    private nint _comm;
    private nint _memory;
    private nint _window;
    private nint _barrierWord;
    private nint[] _peers = [];
    private ulong _networkMask;
    private string _route = "not connected";

    private NcclProcessFabric(in EpConfig config, int rank, int worldSize, int deviceOrdinal)
        : base(config, worldSize, localRanks: 1)
    {
        _rank = rank;
        _device = new CudaDevice(deviceOrdinal);
    }

    /// <summary>The rank that lives in this process.</summary>
    public int LocalRank => _rank;

    public override int RanksPerDevice => 1;

    public override CudaDevice Device(int rank)
    {
        EnsureLocal(rank);
        return _device;
    }

    public override nint Window(int rank)
    {
        EnsureLocal(rank);
        return _memory;
    }

    public override nint PeerWindow(int rank, int peer)
    {
        EnsureLocal(rank);
        return _peers[peer];
    }

    public override ulong NetworkMask(int rank)
    {
        EnsureLocal(rank);
        return _networkMask;
    }

    public override nint Communicator(int rank)
    {
        EnsureLocal(rank);
        return _comm;
    }

    public override string Describe() =>
        $"rank {_rank} of {WorldSize} processes (one GPU each), this one on GPU {_device.Ordinal}:{_device.Name}, through NCCL {Nccl.FormatVersion(Nccl.GetVersion())}: {_route}";

    /// <summary>
    /// Joins the communicator of <paramref name="id"/>, registers this rank's window and proves the peer addressing.
    /// Collective: every rank of the group calls it with the same id and the same configuration.
    /// </summary>
    public static NcclProcessFabric Create(in EpConfig config, int rank, int worldSize, int deviceOrdinal, in NcclUniqueId id, EpRendezvous rendezvous, EpGroupOptions options)
    {
        ArgumentNullException.ThrowIfNull(rendezvous);
        if (!Nccl.TryLoad(out string reason)) throw new EpException($"The Cuda backend needs NCCL for a group of processes: {reason}");
        var fabric = new NcclProcessFabric(config, rank, worldSize, deviceOrdinal);
        try
        {
            fabric.Connect(id, options);
            WindowSetup.WriteControl(fabric, rank);
            rendezvous.Barrier(); // every rank's stamp is in place
            WindowSetup.CheckPeers(fabric, rank);
            rendezvous.Barrier(); // every rank reached every peer: the group may be used
            return fabric;
        }
        catch
        {
            fabric.Dispose();
            throw;
        }
    }

    /// <summary>All ranks meet on the GPU: an NCCL all-reduce of one int on <paramref name="stream"/>, then the host waits
    /// for it (the bench's per-iteration barrier; unbounded if a peer is gone).</summary>
    public void DeviceBarrier(nint stream)
    {
        using CudaContextScope scope = _device.MakeCurrent();
        Check.Nccl(Nccl.ncclAllReduce(_barrierWord, _barrierWord, 1, NcclDataType.Int32, NcclRedOp.Sum, _comm, stream), "ncclAllReduce (barrier)", _comm);
        Check.Cu(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    private void Connect(in NcclUniqueId id, EpGroupOptions options)
    {
        using CudaContextScope scope = _device.MakeCurrent();
        Check.Nccl(Nccl.ncclCommInitRank(out _comm, WorldSize, id, _rank), "ncclCommInitRank");
        Check.Nccl(Nccl.ncclCommCuDevice(_comm, out int commDevice), "ncclCommCuDevice", _comm);
        if (commDevice != _device.Ordinal)
            throw new EpException($"Rank {_rank}: NCCL bound its communicator to GPU {commDevice}, not GPU {_device.Ordinal} whose context was current.");

        Check.Cu(CudaDriver.cuMemAlloc_v2(out _barrierWord, 16), "cuMemAlloc_v2");
        Check.Cu(CudaDriver.cuMemsetD8_v2(_barrierWord, 0, 16), "cuMemsetD8_v2");
        nuint bytes = (nuint)Layout.TotalBytes;
        Check.Nccl(Nccl.ncclMemAlloc(out _memory, bytes), "ncclMemAlloc", _comm);
        Check.Cu(CudaDriver.cuMemsetD8_v2(_memory, 0, bytes), "cuMemsetD8_v2");
        Check.Cu(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");

        if (WorldSize == 1)
        {
            // NCCL gives a one-rank communicator no symmetric (LSA) window; the rank's only peer is itself.
            _peers = [_memory];
            _route = "one rank: its own memory";
            return;
        }

        if (options.ForceNetwork)
        {
            Apply(PeerRoutes.AllNetwork(_rank, WorldSize, _memory));
            return;
        }

        // Collective across the processes: each registers its one window (same size, same order on every rank).
        nint window;
        Check.Nccl(Nccl.ncclCommWindowRegister(_comm, _memory, bytes, &window, NcclWindowFlags.Default), "ncclCommWindowRegister", _comm);
        _window = window;
        Apply(PeerRoutes.FromLsa(NcclLsa.Inspect(_comm, _window, _memory, _device.Context), _rank, WorldSize, _memory, options.EmulatedNodeSize));
    }

    public override void AbortCommunicator(int rank)
    {
        EnsureLocal(rank);
        nint comm = System.Threading.Interlocked.Exchange(ref _comm, 0);
        if (comm != 0) Check.Nccl(Nccl.ncclCommAbort(comm), "ncclCommAbort");
    }

    private void Apply(PeerRoutes routes)
    {
        _peers = routes.Peers;
        _networkMask = routes.NetworkMask;
        _route = routes.Summary;
    }

    private void EnsureLocal(int rank)
    {
        if (rank != _rank)
            throw new InvalidOperationException($"This process holds rank {_rank} of {WorldSize} only; rank {rank} lives in another process.");
    }

    protected override void Dispose(bool disposing)
    {
        using (CudaContextScope scope = CudaContextScope.TryEnter(_device.Context, out _))
        {
            // This rank's kernels are done with the peers' windows before the mappings go.
            _ = CudaDriver.cuCtxSynchronize();
            if (_window != 0 && _comm != 0) _ = Nccl.ncclCommWindowDeregister(_comm, _window);  // an aborted one took it
            if (_memory != 0) _ = Nccl.ncclMemFree(_memory);
            if (_barrierWord != 0) _ = CudaDriver.cuMemFree_v2(_barrierWord);
            if (_comm != 0) _ = Nccl.ncclCommDestroy(_comm);
        }
        _window = _memory = _barrierWord = _comm = 0;
        _device.Dispose();
    }
}
