using System;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// One GPU per rank, all driven by this process: an NCCL communicator (ncclCommInitAll), each rank's window
/// from ncclMemAlloc registered with ncclCommWindowRegister, and peers reached at the window's LSA addresses
/// (docs/nccl-lsa.md). No CUDA IPC. The addressing is proven by the stamp check before the group is used.
/// </summary>
internal sealed unsafe class NcclFabric : CudaFabric
{
    private readonly CudaDevice[] _devices;
    private readonly nint[] _comms;
    private readonly nint[] _memory;
    private readonly nint[] _windows;
    private readonly nint[][] _peers;
    private readonly ulong[] _networkMasks;
    private string _route = "";

    private NcclFabric(in EpConfig config, int[] deviceIds) : base(config, deviceIds.Length)
    {
        int world = deviceIds.Length;
        _devices = new CudaDevice[world];
        _comms = new nint[world];
        _memory = new nint[world];
        _windows = new nint[world];
        _peers = new nint[world][];
        _networkMasks = new ulong[world];
        for (int r = 0; r < world; r++) _devices[r] = new CudaDevice(deviceIds[r]);
    }

    /// <summary>The communicators, one per rank (the bench's all-to-all baseline runs on them).</summary>
    public ReadOnlySpan<nint> Communicators => _comms;

    public override int RanksPerDevice => 1;

    public override CudaDevice Device(int rank) => _devices[rank];

    public override nint Window(int rank) => _memory[rank];

    public override nint PeerWindow(int rank, int peer) => _peers[rank][peer];

    public override ulong NetworkMask(int rank) => _networkMasks[rank];

    public override nint Communicator(int rank) => _comms[rank];

    public override void AbortCommunicator(int rank)
    {
        nint comm = System.Threading.Interlocked.Exchange(ref _comms[rank], 0);
        if (comm != 0) Check.Nccl(Nccl.ncclCommAbort(comm), "ncclCommAbort");
    }

    public override string Describe() =>
        $"{WorldSize} GPU(s) [{string.Join(", ", Array.ConvertAll(_devices, d => $"{d.Ordinal}:{d.Name}"))}] through NCCL {Nccl.FormatVersion(Nccl.GetVersion())}: {_route}";

    public static NcclFabric Create(in EpConfig config, int[] deviceIds, EpGroupOptions options)
    {
        if (!Nccl.TryLoad(out string reason)) throw new EpException($"The Cuda backend needs NCCL for a group of distinct GPUs: {reason}");
        var fabric = new NcclFabric(config, deviceIds);
        try
        {
            fabric.Connect(deviceIds, options);
            WindowSetup.InitializeControl(fabric);
            return fabric;
        }
        catch
        {
            fabric.Dispose();
            throw;
        }
    }

    private void Connect(int[] deviceIds, EpGroupOptions options)
    {
        int world = deviceIds.Length;
        fixed (nint* comms = _comms)
        fixed (int* devices = deviceIds)
        {
            Check.Nccl(Nccl.ncclCommInitAll(comms, world, devices), "ncclCommInitAll");
        }
        nuint bytes = (nuint)Layout.TotalBytes;
        for (int r = 0; r < world; r++)
        {
            using CudaContextScope scope = _devices[r].MakeCurrent();
            Check.Nccl(Nccl.ncclMemAlloc(out _memory[r], bytes), "ncclMemAlloc", _comms[r]);
            Check.Cu(CudaDriver.cuMemsetD8_v2(_memory[r], 0, bytes), "cuMemsetD8_v2");
            Check.Cu(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
        }

        if (world == 1)
        {
            // NCCL gives a one-rank communicator no symmetric (LSA) window; the rank's only peer is itself.
            _peers[0] = [_memory[0]];
            _route = "one rank: its own memory";
            return;
        }

        if (options.ForceNetwork)
        {
            // Every peer through NCCL send/recv: no window registration, each rank addresses only its own memory.
            for (int r = 0; r < world; r++) Apply(r, PeerRoutes.AllNetwork(r, world, _memory[r]));
            return;
        }

        // Registration is collective: one thread drives every rank inside a group. NCCL writes the window handles at
        // ncclGroupEnd, so the array they go to stays pinned until then.
        Check.Nccl(Nccl.ncclGroupStart(), "ncclGroupStart");
        NcclResult registered = NcclResult.Success, ended;
        fixed (nint* windows = _windows)
        {
            for (int r = 0; r < world && registered == NcclResult.Success; r++)
            {
                using CudaContextScope scope = _devices[r].MakeCurrent();
                registered = Nccl.ncclCommWindowRegister(_comms[r], _memory[r], bytes, windows + r, NcclWindowFlags.Default);
            }
            ended = Nccl.ncclGroupEnd();
        }
        Check.Nccl(registered, "ncclCommWindowRegister", _comms[0]);
        Check.Nccl(ended, "ncclGroupEnd (window registration)", _comms[0]);

        // Peers inside NCCL's LSA team by address; the others (another node, or no P2P path) through the network.
        for (int r = 0; r < world; r++)
            Apply(r, PeerRoutes.FromLsa(NcclLsa.Inspect(_comms[r], _windows[r], _memory[r], _devices[r].Context), r, world, _memory[r], options.EmulatedNodeSize));
    }

    private void Apply(int rank, PeerRoutes routes)
    {
        _peers[rank] = routes.Peers;
        _networkMasks[rank] = routes.NetworkMask;
        if (rank == 0) _route = routes.Summary;
    }

    protected override void Dispose(bool disposing)
    {
        for (int r = 0; r < WorldSize; r++)
        {
            // An aborted communicator (0 here) took its windows with it.
            if (_windows[r] != 0 && _comms[r] != 0) _ = Nccl.ncclCommWindowDeregister(_comms[r], _windows[r]);
            if (_memory[r] != 0)
            {
                using CudaContextScope scope = CudaContextScope.TryEnter(_devices[r].Context, out _);
                _ = Nccl.ncclMemFree(_memory[r]);
            }
        }
        for (int r = 0; r < WorldSize; r++)
        {
            if (_comms[r] != 0) _ = Nccl.ncclCommDestroy(_comms[r]);
            _devices[r]?.Dispose();
        }
    }
}
