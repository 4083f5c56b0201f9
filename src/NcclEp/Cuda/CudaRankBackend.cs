using System;
using System.Runtime.CompilerServices;
using NcclEp.Backend;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// One rank of the Cuda backend. Each data-path call copies a prepared parameter block to the stack,
/// fills in the call's pointers and launches one kernel through a cached driver function pointer: no
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
    private readonly uint _updateShared, _dispatchShared, _combineShared;
    private readonly int _updateTileWords;
    private CudaKernelParams _template;
    private bool _disposed;

    public CudaRankBackend(CudaFabric fabric, int rank, CudaKernelModule kernels, EpGroupOptions options)
    {
        _fabric = fabric;
        _rank = rank;
        _device = fabric.Device(rank);
        _kernels = kernels;
        _timeout = options.PeerTimeout;
        _errors = new CudaErrorRecord(_device);
        EpConfig c = fabric.Config;
        int world = fabric.WorldSize, local = c.LocalExperts(world);
        _grid = (uint)GridSize(c, _device.Multiprocessors, fabric.RanksPerDevice);
        // Update's token tile: as many 32-token words of bitmask per expert and rank as fit in 96 KiB (1..32).
        int masks = c.NumExperts + world;
        _updateTileWords = Math.Clamp(((96 * 1024) / sizeof(int) - masks) / masks, 1, 32);
        _updateShared = (uint)(masks * (_updateTileWords + 1) * sizeof(int));
        _dispatchShared = (uint)(((local * world) + (3 * local) + 1) * sizeof(int));
        _combineShared = (uint)((Math.Max(local, world) + 1) * sizeof(int));
        kernels.ReserveSharedMemory(kernels.Update, (int)_updateShared);
        kernels.ReserveSharedMemory(kernels.Dispatch, (int)_dispatchShared);
        kernels.ReserveSharedMemory(kernels.Combine, (int)_combineShared);
        _template = BuildTemplate(fabric, rank, _errors.DevicePointer, options.PeerTimeout);
        _template.UpdateTileWords = _updateTileWords;
    }

    public EpBackendKind Kind => EpBackendKind.Cuda;

    /// <summary>Blocks per launch: NumSms if set, else every SM; co-located ranks split the GPU so all stay resident (they wait on each other).</summary>
    internal static int GridSize(in EpConfig config, int multiprocessors, int ranksPerDevice)
    {
        int share = Math.Max(1, multiprocessors / ranksPerDevice);
        int wanted = config.NumSms > 0 ? config.NumSms : share;
        return Math.Clamp(wanted, 1, share);
    }

    public EpBuffer Allocate(long bytes) => CudaBuffer.Allocate(_device, bytes);

    public void Update(EpHandle handle, ref readonly EpLaunchArgs args)
    {
        ThrowIfKernelFailed();
        CudaKernelParams p = _template;
        Fill(ref p, handle, in args, flags: 0);
        Launch(_kernels.Update, 1, _updateShared, args.Stream, ref p);
    }

    public void Dispatch(EpHandle handle, ref readonly EpLaunchArgs args)
    {
        ThrowIfKernelFailed();
        CudaKernelParams p = _template;
        Fill(ref p, handle, in args, flags: 0);
        if (args.Pass == EpPass.Forward) Launch(_kernels.Dispatch, _grid, _dispatchShared, args.Stream, ref p);
        else Launch(_kernels.Combine, _grid, _combineShared, args.Stream, ref p);
    }

    public void Combine(EpHandle handle, ref readonly EpLaunchArgs args)
    {
        ThrowIfKernelFailed();
        CudaKernelParams p = _template;
        bool perExpert = _fabric.Config.Layout == EpLayout.ExpertMajor;
        if (args.Pass == EpPass.Forward)
        {
            Fill(ref p, handle, in args, flags: 1);
            Launch(_kernels.Combine, _grid, _combineShared, args.Stream, ref p);
        }
        else
        {
            Fill(ref p, handle, in args, flags: perExpert ? 1 : 0);
            Launch(_kernels.Dispatch, _grid, _dispatchShared, args.Stream, ref p);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Launch(nint function, uint grid, uint shared, nint stream, ref CudaKernelParams p)
    {
        using CudaContextScope scope = _device.MakeCurrent();
        void* block = Unsafe.AsPointer(ref p);
        void** arguments = &block;
        Check.Cu(CudaHotPath.LaunchKernel(function, grid, 1, 1, CudaKernelModule.ThreadsPerBlock, 1, 1, shared, stream, arguments), "cuLaunchKernel");
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
        p.TopkIds = args.TopkIds;
        p.TopkIdsStride = args.TopkIdsRowStride;
        p.TopkWeights = args.TopkWeights;
        p.TopkWeightsStride = args.TopkWeightsRowStride;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfKernelFailed()
    {
        if (_errors.HasError) _errors.Throw(_rank, _timeout);
    }

    public void CheckErrors() => ThrowIfKernelFailed();

    public void SetActiveRanks(ReadOnlySpan<bool> active)
    {
        Span<int> mask = stackalloc int[active.Length];
        for (int r = 0; r < active.Length; r++) mask[r] = active[r] ? 1 : 0;
        using CudaContextScope scope = _device.MakeCurrent();
        Check.Cu(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
        _errors.DiscardTimeout();

        // A recovery point (as on the Host backend): the mask, then this rank's sequence restarts at 0 and the flags
        // peers left in its window are cleared. On a private stream, synchronised before returning, so the writes
        // are complete before any later launch on a non-blocking stream.
        WindowLayout layout = _fabric.Layout;
        nint window = _fabric.Window(_rank);
        Check.Cu(CudaDriver.cuStreamCreate(out nint stream, CuStreamFlags.NonBlocking), "cuStreamCreate");
        try
        {
            fixed (int* m = mask)
            {
                Check.Cu(CudaDriver.cuMemcpyHtoDAsync_v2(window + WindowControl.ActiveMask, m, (nuint)(mask.Length * 4), stream), "cuMemcpyHtoDAsync_v2");
                Check.Cu(CudaDriver.cuMemsetD8Async(window + (nint)layout.DispatchFlags, 0, (nuint)(layout.ExpertCounts - layout.DispatchFlags), stream), "cuMemsetD8Async");
                Check.Cu(CudaDriver.cuMemsetD32Async(window + WindowControl.DispatchSequence, 0, 2, stream), "cuMemsetD32Async");
                Check.Cu(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
            }
        }
        finally
        {
            _ = CudaDriver.cuStreamDestroy_v2(stream);
        }
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
        _errors.Dispose();
        _fabric.ReleaseRank();
    }
}
