using System;
using System.Runtime.CompilerServices;
using NcclEp.Backend;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// One rank of the Cuda backend. Each data-path call copies a prepared parameter block to the stack,
/// fills in the call's pointers and launches one kernel through a blittable driver binding: no
/// allocation, no host synchronisation, nothing read back.
/// </summary>
internal sealed unsafe partial class CudaRankBackend : IEpRankBackend
{
    private readonly CudaFabric _fabric;
    private readonly int _rank;
    private readonly CudaDevice _device;
    private readonly CudaKernelModule _kernels;
    private readonly CudaErrorRecord _errors;
    private readonly TimeSpan _timeout;
    private readonly uint _grid;
    private readonly bool _sizeGrids;          // low latency: grids sized to the call's work (LaunchSizing)
    private readonly bool _dependentLaunch;    // NCCLEP_PDL=1: programmatic dependent launch (DependentLaunch)
    private readonly uint _updateShared, _offsetsShared, _dispatchShared, _combineShared;
    private readonly uint _routedDispatchShared;  // a dispatch kernel that routes first: its block 0 needs the update's masks
    private readonly uint _quantizedDispatchShared, _routedQuantizedDispatchShared;  // the same without bulk stages
    private readonly NetworkStaging? _staging;
    private readonly NetworkExchangeWatch? _watch;
    private readonly nint _comm;
    private readonly bool[] _active;
    private readonly int _nodeSize;            // hierarchical HT dispatch: ranks per node; 0 = flat
    private readonly ulong _dispatchExchange;  // the network peers the dispatch route's NCCL group exchanges with
    private CudaKernelParams _template;
    private bool _disposed;

    public CudaRankBackend(CudaFabric fabric, int rank, CudaKernelModule kernels, EpGroupOptions options)
    {
        _fabric = fabric;
        _rank = rank;
        _device = fabric.Device(rank);
        _kernels = kernels;
        _timeout = options.PeerTimeout;
        EpConfig c = fabric.Config;
        int world = fabric.WorldSize, local = c.LocalExperts(world);
        _grid = (uint)GridSize(c, _device.Multiprocessors, fabric.RanksPerDevice);
        _sizeGrids = c.Mode == EpMode.LowLatency && LaunchSizing.Enabled();
        _dependentLaunch = DependentLaunch.Enabled() && _device.Major >= 9;  // griddepcontrol exists from sm_90
        // Update: a block per tile of UpdateTileTokens tokens, with one bitmask per expert and per rank.
        int masks = c.NumExperts + world;
        _updateShared = (uint)(masks * (HandleLayout.UpdateTileTokens / 32) * sizeof(int));
        _offsetsShared = (uint)(masks * sizeof(int));
        _dispatchShared = (uint)(((local * world) + (3 * local) + 1) * sizeof(int));
        _routedDispatchShared = Math.Max(_dispatchShared, _updateShared);
        // The HT bulk copies' stages (0 without them) come first in the dispatch's and the combine's dynamic shared
        // memory; the FP8 dispatch never copies in bulk.
        uint bulk = (uint)kernels.BulkSharedBytes;
        _quantizedDispatchShared = _dispatchShared;
        _routedQuantizedDispatchShared = _routedDispatchShared;
        _dispatchShared += bulk;
        _routedDispatchShared += bulk;
        _combineShared = bulk;  // otherwise static shared memory only
        kernels.ReserveSharedMemory(kernels.Update, (int)_updateShared);
        kernels.ReserveSharedMemory(kernels.UpdateOffsets, (int)_offsetsShared);
        kernels.ReserveSharedMemory(kernels.Dispatch, (int)_routedDispatchShared);
        if (kernels.QuantizedDispatch != 0) kernels.ReserveSharedMemory(kernels.QuantizedDispatch, (int)_routedQuantizedDispatchShared);
        kernels.ReserveSharedMemory(kernels.Combine, (int)_combineShared);
        ThrowIfNotResident(c, fabric.RanksPerDevice);
        _errors = new CudaErrorRecord(_device);
        _active = new bool[world];
        _active.AsSpan().Fill(true);
        ulong network = fabric.NetworkMask(rank);
        if (network != 0)
        {
            _comm = fabric.Communicator(rank);
            if (_comm == 0) throw new EpException($"Rank {rank} has network peers but no NCCL communicator to reach them ({fabric.Describe()}).");
            _nodeSize = HierarchicalDispatch.NodeSize(c, rank, world, network, options.HierarchicalDispatch);
            _dispatchExchange = _nodeSize > 0 ? HierarchicalDispatch.RailMask(rank, world, _nodeSize) : network;
            _staging = new NetworkStaging(_device, c, fabric.Layout, network, _nodeSize);
        }
        _template = BuildTemplate(fabric, rank, _errors.DevicePointer, options.PeerTimeout, _staging);
        _template.NodeSize = _nodeSize;
        // Last: from here on the watchdog thread looks at this rank, so nothing after it may throw.
        if (_staging is not null) _watch = new NetworkExchangeWatch(_device, rank, options.PeerTimeout, () => fabric.AbortCommunicator(rank));
    }

    public EpBackendKind Kind => EpBackendKind.Cuda;

    /// <summary>What this rank's group adds to the fabric's route description (hierarchical dispatch), or empty.</summary>
    public string RouteNote => HierarchicalDispatch.Describe(_nodeSize, _nodeSize > 0 ? _dispatchExchange : 0);

    /// <summary>
    /// The dispatch and combine grids must be resident all at once (receiving blocks wait for sending blocks, and
    /// co-located ranks' grids for each other): checked against the driver's occupancy for each kernel's block size and
    /// shared memory, with the grid this configuration launches (EpConfig.NumSms included). Work that other streams or
    /// processes run on the GPU at the same time is not known here (docs/kernels.md).
    /// </summary>
    private void ThrowIfNotResident(in EpConfig c, int ranksPerDevice)
    {
        using CudaContextScope scope = _device.MakeCurrent();
        // A dispatch may route first (FLAG_ROUTE), with the larger shared memory: checked with that.
        foreach ((string name, nint function, uint shared) in new[] { ("dispatch", _kernels.Dispatch, _routedDispatchShared), ("combine", _kernels.Combine, _combineShared), ("FP8 dispatch", _kernels.QuantizedDispatch, _routedQuantizedDispatchShared) })
        {
            if (function == 0) continue;  // no FP8 recipe
            Check.Cu(CudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(out int blocks, function, CudaKernelModule.ThreadsPerBlock, shared), "cuOccupancyMaxActiveBlocksPerMultiprocessor");
            string? problem = GridResidency.Problem(name, blocks, (int)_grid, ranksPerDevice, _device.Multiprocessors, CudaKernelModule.ThreadsPerBlock, shared, c.NumSms);
            if (problem is not null) throw new EpException($"Rank {_rank}: {problem}");
        }
    }

    /// <summary>Blocks per launch: NumSms if set, else every SM; co-located ranks split the GPU so all stay resident (they wait on each other).</summary>
    internal static int GridSize(in EpConfig config, int multiprocessors, int ranksPerDevice)
    {
        int share = Math.Max(1, multiprocessors / ranksPerDevice);
        int wanted = config.NumSms > 0 ? config.NumSms : share;
        return Math.Clamp(wanted, 1, share);
    }

    public EpBuffer Allocate(long bytes) => CudaBuffer.Allocate(_device, bytes);

    /// <summary>On the device's transfer stream, synchronised (as <see cref="CudaBuffer"/>'s downloads).</summary>
    public void CopyToHost(nint source, Span<byte> destination)
    {
        using CudaContextScope scope = _device.MakeCurrent();
        nint stream = _device.TransferStream;
        fixed (byte* p = destination)
        {
            Check.Cu(CudaDriver.cuMemcpyDtoHAsync_v2(p, source, (nuint)destination.Length, stream), "cuMemcpyDtoHAsync_v2");
            Check.Cu(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
        }
    }

    public void Update(EpHandle handle, ref readonly EpLaunchArgs args)
    {
        ThrowIfKernelFailed();
        LaunchUpdate(handle, in args);
    }

    public void Dispatch(EpHandle handle, ref readonly EpLaunchArgs args)
    {
        ThrowIfKernelFailed();
        CudaKernelParams p = _template;
        int route = RouteFirst(handle, in args);
        Fill(ref p, handle, in args, flags: (args.Pass == EpPass.Forward ? RowsInWindowFlag(args.Rows) : 0) | route);
        if (args.Quantization != EpDispatchQuantization.None) RunQuantizedDispatchRoute(args.Stream, args.Half, ref p);
        else if (args.Pass == EpPass.Forward) RunDispatchRoute(args.Stream, args.Half, ref p);
        else RunCombineRoute(args.Stream, args.Half, ref p);
    }

    public void Combine(EpHandle handle, ref readonly EpLaunchArgs args)
    {
        ThrowIfKernelFailed();
        CudaKernelParams p = _template;
        bool perExpert = _fabric.Config.Layout == EpLayout.ExpertMajor;
        if (args.Pass == EpPass.Forward)
        {
            Fill(ref p, handle, in args, flags: 1);
            RunCombineRoute(args.Stream, args.Half, ref p);
        }
        else
        {
            Fill(ref p, handle, in args, flags: (perExpert ? 1 : 0) | RowsInWindowFlag(args.Rows));
            RunDispatchRoute(args.Stream, args.Half, ref p);
        }
    }

    /// <summary>
    /// Dispatch route: FLAG_ROWS_IN_WINDOW when the layout rows are this rank's own window messages (zero-copy receive,
    /// EpGroup.WindowReceiveRows), so the receive half leaves a peer's row where it landed.
    /// </summary>
    private int RowsInWindowFlag(nint rows)
    {
        nint window = _template.Window;
        return rows >= window && rows < window + (nint)_fabric.Layout.TotalBytes ? 2 : 0;
    }

    private void RunDispatchRoute(nint stream, EpHalf half, ref CudaKernelParams p) =>
        RunRoute(_kernels.Dispatch, DispatchGrid(p.NumTokens), DispatchShared(in p), 0, _staging?.DispatchSlice ?? 0, _dispatchExchange, EpPhase.DispatchReceive, stream, half, ref p);

    /// <summary>The FP8 dispatch: its own kernel, its messages (FP8 row and scales) at their own stride in the same slots.</summary>
    private void RunQuantizedDispatchRoute(nint stream, EpHalf half, ref CudaKernelParams p)
    {
        p.MessageBytes = _fabric.Layout.QuantizedMessageBytes;
        RunRoute(_kernels.QuantizedDispatch, DispatchGrid(p.NumTokens), QuantizedDispatchShared(in p), 0, _staging?.DispatchSlice ?? 0, _dispatchExchange, EpPhase.DispatchReceive, stream, half, ref p);
    }

    private void RunCombineRoute(nint stream, EpHalf half, ref CudaKernelParams p) =>
        RunRoute(_kernels.Combine, CombineGrid(p.NumTokens), _combineShared, _staging?.CombineBase ?? 0, _staging?.CombineSlice ?? 0, _template.NetworkMask, EpPhase.CombineReceive, stream, half, ref p);

    /// <summary>Blocks of a dispatch-route launch with this many tokens here: sized in low latency, else the whole grid.</summary>
    internal uint DispatchGrid(int tokens) =>
        _sizeGrids ? LaunchSizing.DispatchGrid(tokens, _template.TopK, _template.World, _grid) : _grid;

    /// <summary>Blocks of a combine-route launch with this many home tokens: sized in low latency, else the whole grid.</summary>
    internal uint CombineGrid(int tokens) =>
        _sizeGrids ? LaunchSizing.CombineGrid(tokens, _template.World, _template.RowBytes, _grid) : _grid;

    /// <summary>
    /// Both halves: one launch with LSA peers only; with network peers the send half, the NCCL exchange of the route's
    /// slices (at <paramref name="sliceBase"/> in each staging half), then the receive half. A send (<see cref="EpHalf.Send"/>)
    /// is the send-half launch alone, which stores and ends; its complete is the rest: the exchange (so that nothing
    /// waits on the stream between them) and the receive half.
    /// </summary>
    private void RunRoute(nint function, uint grid, uint shared, long sliceBase, long slice, ulong exchange, EpPhase phase, nint stream, EpHalf half, ref CudaKernelParams p)
    {
        if (_staging is null)
        {
            p.Steps = half switch { EpHalf.Send => StepSend, EpHalf.Receive => StepReceive, _ => StepsBoth };
            Launch(function, grid, shared, stream, ref p);
            return;
        }
        if (half != EpHalf.Receive)
        {
            p.Steps = StepSend;
            Launch(function, grid, shared, stream, ref p);
        }
        if (half == EpHalf.Send) return;
        ExchangeSlices(_staging.Out + (nint)sliceBase, _staging.In + (nint)sliceBase, slice, exchange, phase, stream);
        p.Steps = StepReceive;
        Launch(function, grid, shared, stream, ref p);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Launch(nint function, uint grid, uint shared, nint stream, ref CudaKernelParams p)
    {
        using CudaContextScope scope = _device.MakeCurrent();
        void* block = Unsafe.AsPointer(ref p);
        void** arguments = &block;
        if (!_dependentLaunch)
        {
            Check.Cu(CudaDriver.cuLaunchKernel(function, grid, 1, 1, CudaKernelModule.ThreadsPerBlock, 1, 1, shared, stream, arguments, null), "cuLaunchKernel");
            return;
        }
        CuLaunchAttribute serialization = default;
        serialization.Id = CuLaunchAttributeId.ProgrammaticStreamSerialization;
        serialization.Value = 1;
        CuLaunchConfig config = new()
        {
            GridDimX = grid, GridDimY = 1, GridDimZ = 1,
            BlockDimX = CudaKernelModule.ThreadsPerBlock, BlockDimY = 1, BlockDimZ = 1,
            SharedMemBytes = shared, Stream = stream, Attributes = &serialization, AttributeCount = 1,
        };
        Check.Cu(CudaDriver.cuLaunchKernelEx(&config, function, arguments, null), "cuLaunchKernelEx (programmatic dependent launch)");
    }

    private static void Fill(ref CudaKernelParams p, EpHandle handle, ref readonly EpLaunchArgs args, int flags)
    {
        p.State = handle.State;
        p.NumTokens = args.NumTokens;
        p.Flags = flags;
        p.Home = args.Home;
        p.HomeStride = args.HomeRowStride;
        p.Rows = args.Rows;
        p.RowsStride0 = args.RowsStride0;
        p.RowsStride1 = args.RowsStride1;
        p.TopKIds = args.TopKIds;
        p.TopKIdsStride = args.TopKIdsRowStride;
        p.TopKWeights = args.TopKWeights;
        p.TopKWeightsStride = args.TopKWeightsRowStride;
        p.Scales = args.Scales;
        p.ScalesStride0 = args.ScalesStride0;
        p.ScalesColumnStride = args.ScalesColumnStride;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfKernelFailed()
    {
        _watch?.ThrowIfAborted();  // before the kernels' record: their time-out is the consequence, not the cause
        if (_errors.HasError) _errors.Throw(_rank, _timeout);
    }

    public void CheckErrors() => ThrowIfKernelFailed();

    public void SetActiveRanks(ReadOnlySpan<bool> active)
    {
        Span<int> mask = stackalloc int[active.Length];
        for (int r = 0; r < active.Length; r++) mask[r] = active[r] ? 1 : 0;
        using CudaContextScope scope = _device.MakeCurrent();
        Check.Cu(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
        ThrowIfMaskedOut();
        _errors.DiscardTimeout();

        // A recovery point (as on the Host backend): each newly masked LSA peer is marked as masked by this rank (its
        // kernels then store nothing to a peer), the mask is written, this rank's sequence restarts at 0 and the flags
        // peers left in its window are cleared (and, with the sequences, WindowControl.RouteReady). On the device's
        // transfer stream, synchronised before returning, so the writes are complete before any later launch on a
        // non-blocking stream. A masked network peer needs no mark:
        // nothing is received from it any more (NCCL's send/recv only moves data both sides posted).
        WindowLayout layout = _fabric.Layout;
        nint window = _fabric.Window(_rank);
        nint stream = _device.TransferStream;
        for (int r = 0; r < active.Length; r++)
        {
            nint peer = _fabric.PeerWindow(_rank, r);
            if (_active[r] && !active[r] && peer != 0)
                Check.Cu(CudaDriver.cuMemsetD32Async(peer + WindowControl.MaskedBy, (uint)(_rank + 1), 1, stream), "cuMemsetD32Async");
        }
        active.CopyTo(_active);
        fixed (int* m = mask)
        {
            Check.Cu(CudaDriver.cuMemcpyHtoDAsync_v2(window + WindowControl.ActiveMask, m, (nuint)(mask.Length * 4), stream), "cuMemcpyHtoDAsync_v2");
            Check.Cu(CudaDriver.cuMemsetD8Async(window + (nint)layout.DispatchFlags, 0, (nuint)(layout.ExpertCounts - layout.DispatchFlags), stream), "cuMemsetD8Async");
            Check.Cu(CudaDriver.cuMemsetD32Async(window + WindowControl.DispatchSequence, 0, SequenceWords, stream), "cuMemsetD32Async");
            Check.Cu(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
        }
    }

    /// <summary>Control path, device idle: raises EpRankMaskedException if a survivor marked this rank as masked.</summary>
    private void ThrowIfMaskedOut()
    {
        int maskedBy = 0;
        Check.Cu(CudaDriver.cuMemcpyDtoH_v2(&maskedBy, _fabric.Window(_rank) + WindowControl.MaskedBy, sizeof(int)), "cuMemcpyDtoH_v2");
        if (maskedBy != 0) ThrowHelper.Masked(_rank, maskedBy - 1);
    }

    public void Synchronize(EpStream stream)
    {
        using CudaContextScope scope = _device.MakeCurrent();
        Check.Cu(CudaDriver.cuStreamSynchronize(stream.Handle), "cuStreamSynchronize");
        ThrowIfKernelFailed();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        DestroyStreams();
        _watch?.Dispose();
        _errors.Dispose();
        _staging?.Dispose();
        _fabric.ReleaseRank();
    }
}
