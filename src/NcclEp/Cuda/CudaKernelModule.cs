using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Threading;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>The kernels of one configuration (update and its offsets pass, dispatch route, combine route, and the FP8 dispatch of an FP8 recipe) loaded on one device.</summary>
/// <remarks>
/// A loaded module is shared by every group of the same context that needs the same cubin, and stays loaded while
/// that context lives: loading and unloading these kernels costs about 40 KiB of GPU memory per cycle that the driver
/// (580) never gives back, so a process that creates and disposes groups (or recreates one after a failure) would
/// otherwise grow without bound (tests/NcclEp.GpuTests/SoakSuite.cs measures it). Entries are keyed by the
/// context's unique id (cuCtxGetId), so a module of a context that was destroyed (and its modules with it) is never
/// reused. Without cuCtxGetId (drivers before CUDA 12) every group loads its own module and unloads it at disposal.
/// </remarks>
internal sealed unsafe partial class CudaKernelModule : IDisposable
{
    public const int ThreadsPerBlock = 512;
    private static readonly Lock s_lock = new();
    private static readonly Dictionary<(ulong Context, string Image), Loaded> s_loaded = new();
    private static bool s_noContextIds;
    private readonly CudaDevice _device;
    private readonly Loaded _loaded;
    private bool _disposed;

    public CudaKernelModule(CudaDevice device, in EpConfig config, EpGroupOptions options)
    {
        _device = device;
        // The generated table lists exactly the kernels this (mode, layout)'s launch stubs run.
        ReadOnlySpan<EpKernelSpec> specs = EpKernelTable.For(config.Mode, config.Layout);
        if (specs.Length == 0) throw new NotSupportedException($"No kernels are generated for {config.Mode} / {config.Layout}.");
        List<string> nvrtcOptions = KernelCache.Options(config, device.Architecture, specs[0].Defines);
        byte[] cubin = KernelCache.GetOrCompile(KernelSource.Text, nvrtcOptions, KernelCache.Directory(options), out CompileReport report);
        Report = report;

        using CudaContextScope scope = device.MakeCurrent();
        _loaded = Acquire(device, cubin);
        try
        {
            foreach (EpKernelSpec spec in specs)
            {
                if (spec.Defines != specs[0].Defines) throw new NotSupportedException("The kernels of one (mode, layout) must share their defines: they are compiled as one module.");
                if (spec.Op == EpOperation.QuantizedDispatch && !config.IsDispatchQuantized) continue;  // built for an FP8 recipe only
                nint function = Function(spec.EntryPoint);
                switch (spec.Op)
                {
                    case EpOperation.Update: Update = function; break;
                    case EpOperation.Dispatch: Dispatch = function; break;
                    case EpOperation.Combine: Combine = function; break;
                    case EpOperation.QuantizedDispatch: QuantizedDispatch = function; break;
                }
            }
            if (Update == 0 || Dispatch == 0 || Combine == 0)
                throw new NotSupportedException($"The kernel table for {config.Mode} / {config.Layout} does not name an update, dispatch and combine kernel.");
            if (config.IsDispatchQuantized && QuantizedDispatch == 0)
                throw new NotSupportedException($"The kernel table for {config.Mode} / {config.Layout} has no FP8 dispatch kernel.");
            // Update's second launch (tile offsets) belongs to the same operation and module.
            UpdateOffsets = Function(UpdateOffsetsEntryPoint);
            QueueProbeWait = Function("ncclep_queue_probe_wait");
            QueueProbeSet = Function("ncclep_queue_probe_set");
            BulkSharedBytes = BulkSharedMemory.Read(_loaded.Module);
            LocalBytesPerThread = Math.Max(Math.Max(LocalBytes(Update), LocalBytes(UpdateOffsets)), Math.Max(LocalBytes(Dispatch), LocalBytes(Combine)));
            if (QuantizedDispatch != 0) LocalBytesPerThread = Math.Max(LocalBytesPerThread, LocalBytes(QuantizedDispatch));
            ReserveStack(LocalBytesPerThread);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The update's second kernel: it adds each tile's offsets (ep_update.cu).</summary>
    public const string UpdateOffsetsEntryPoint = "ncclep_update_offsets";

    public nint Update { get; }
    public nint UpdateOffsets { get; }
    public nint Dispatch { get; }
    public nint Combine { get; }

    /// <summary>The FP8 dispatch (ncclep_dispatch_fp8); 0 when the configuration has no FP8 recipe.</summary>
    public nint QuantizedDispatch { get; }

    /// <summary>The co-located stream check's two kernels (ep_queue_probe.cu, ColocatedStreams.cs).</summary>
    public nint QueueProbeWait { get; }
    public nint QueueProbeSet { get; }
    public CompileReport Report { get; }

    /// <summary>
    /// Dynamic shared memory the HT bulk copies' stages take at the start of every dispatch (not FP8) and combine launch,
    /// before the kernels' own; 0 when the module is built without them (<see cref="BulkSharedMemory"/>).
    /// </summary>
    public int BulkSharedBytes { get; }

    /// <summary>The most local memory (stack frame, spills) a thread of these kernels uses.</summary>
    public int LocalBytesPerThread { get; }

    /// <summary>
    /// Raises the context's per-thread stack to <paramref name="bytes"/> now, while none of these kernels runs. A launch
    /// that needs more local memory than the context has makes the driver grow it, and growing it waits for every
    /// kernel of the context to finish: if a co-located peer's kernel is waiting for this rank's, that wait is a
    /// deadlock until the time-out. Once grown it stays (the driver never shrinks it), so each context pays once.
    /// </summary>
    private void ReserveStack(int bytes)
    {
        if (bytes <= 0) return;
        lock (s_lock)
        {
            using CudaContextScope scope = _device.MakeCurrent();
            Check.Cu(CudaDriver.cuCtxGetLimit(out nuint current, CuLimit.StackSize), "cuCtxGetLimit(CU_LIMIT_STACK_SIZE)");
            if (current >= (nuint)bytes) return;
            Check.Cu(CudaDriver.cuCtxSetLimit(CuLimit.StackSize, (nuint)bytes), "cuCtxSetLimit(CU_LIMIT_STACK_SIZE)");
        }
    }

    private static int LocalBytes(nint function)
    {
        Check.Cu(CudaDriver.cuFuncGetAttribute(out int bytes, CuFunctionAttribute.LocalSizeBytes, function), "cuFuncGetAttribute(CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES)");
        return bytes;
    }

    /// <summary>
    /// Sets the dynamic shared memory a kernel may take (needed above 48 KiB minus its static part). The function may
    /// be shared with groups of other world sizes, so the setting only ever grows: no launch of another group fails.
    /// </summary>
    public void ReserveSharedMemory(nint function, int bytes)
    {
        lock (s_lock)
        {
            if (_loaded.Reserved.TryGetValue(function, out int reserved) && reserved >= bytes) return;
            using CudaContextScope scope = _device.MakeCurrent();
            Check.Cu(CudaDriver.cuFuncSetAttribute(function, CuFunctionAttribute.MaxDynamicSharedSizeBytes, bytes), "cuFuncSetAttribute");
            _loaded.Reserved[function] = bytes;
        }
    }

    private nint Function(string name)
    {
        nint function;
        Check.Cu(CudaDriver.cuModuleGetFunction(out function, _loaded.Module, name), $"cuModuleGetFunction({name})");
        LoadNow(function, name);
        return function;
    }

    /// <summary>The module of <paramref name="cubin"/> in the current context: the one already loaded, or loaded now.</summary>
    private static Loaded Acquire(CudaDevice device, byte[] cubin)
    {
        ulong? context = ContextId(device.Context);
        string image = Convert.ToHexString(SHA256.HashData(cubin));
        lock (s_lock)
        {
            if (context is ulong id && s_loaded.TryGetValue((id, image), out Loaded? shared))
            {
                shared.Users++;
                return shared;
            }
            nint module;
            fixed (byte* p = cubin) Check.Cu(CudaDriver.cuModuleLoadData(out module, p), "cuModuleLoadData");
            var loaded = new Loaded(module, kept: context is not null);
            if (context is ulong key) s_loaded[(key, image)] = loaded;
            return loaded;
        }
    }

    /// <summary>The context's unique id, or null where the driver has no cuCtxGetId.</summary>
    private static ulong? ContextId(nint context)
    {
        if (Volatile.Read(ref s_noContextIds)) return null;
        try
        {
            return cuCtxGetId(context, out ulong id) == CuResult.Success ? id : null;
        }
        catch (EntryPointNotFoundException)
        {
            Volatile.Write(ref s_noContextIds, true);
            return null;
        }
    }

    [LibraryImport(CudaDriver.LibraryName)]
    private static partial CuResult cuCtxGetId(nint context, out ulong id);

    /// <summary>Releases this group's use; a module kept for its context stays loaded until the context goes.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        lock (s_lock)
        {
            if (--_loaded.Users > 0 || _loaded.Kept || _loaded.Module == 0) return;
            using CudaContextScope scope = CudaContextScope.TryEnter(_device.Context, out _);
            _ = CudaDriver.cuModuleUnload(_loaded.Module);
            _loaded.Module = 0;
        }
    }

    private sealed class Loaded(nint module, bool kept)
    {
        public nint Module { get; set; } = module;
        public bool Kept { get; } = kept;
        public int Users { get; set; } = 1;
        public Dictionary<nint, int> Reserved { get; } = new();
    }

    /// <summary>
    /// Loads the function at creation instead of at its first launch: under lazy module loading (the CUDA 12+
    /// default) a first launch may wait for the context, while a co-located peer's kernel spins waiting for this
    /// rank — a deadlock until the time-out. Drivers without cuFuncLoad (before 12.4) load eagerly only with
    /// CUDA_MODULE_LOADING=EAGER, which scripts/gpu-run.sh sets.
    /// </summary>
    internal static void LoadNow(nint function, string name)
    {
        try
        {
            Check.Cu(CudaDriver.cuFuncLoad(function), $"cuFuncLoad({name})");
        }
        catch (EntryPointNotFoundException)
        {
        }
    }
}
