using System;
using System.Diagnostics;
using NcclEp;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.Bench;

/// <summary>The caller's own work the overlap probe runs between a send and its complete, for a fixed time.</summary>
internal interface IBusyWork : IDisposable
{
    /// <summary>Queues (Cuda) or does (Host) the work on the rank's stream.</summary>
    void Run();
}

/// <summary>Host backend: the rank thread spins for the time (its calls complete before they return, so nothing overlaps).</summary>
internal sealed class HostBusyWork(double microseconds) : IBusyWork
{
    private readonly long _ticks = (long)(microseconds * Stopwatch.Frequency / 1e6);

    public void Run()
    {
        long end = Stopwatch.GetTimestamp() + _ticks;
        while (Stopwatch.GetTimestamp() < end)
        {
        }
    }

    public void Dispose()
    {
    }
}

/// <summary>
/// Cuda backend: Kernels/busy_work.cu on the rank's stream, a block per SM spinning for the time, so the GPU is busy as
/// with real work while the peers' rows travel. Compiled with NVRTC (cached like the library's kernels).
/// </summary>
internal sealed unsafe class GpuBusyWork : IBusyWork
{
    private const string File = "busy_work.cu";
    private readonly CudaDevice _device;
    private readonly EpStream _stream;
    private readonly ulong _nanoseconds;
    private readonly EpBuffer _done;
    private readonly BenchKernelModule _kernel;

    public GpuBusyWork(RankState state, double microseconds)
    {
        _device = ((CudaRankBackend)state.Group.RankBackend).Device;
        _stream = state.Stream;
        _nanoseconds = (ulong)(microseconds * 1000);
        _done = state.Backend.AllocateBuffer(state.Group, 16);
        try
        {
            _kernel = new BenchKernelModule(_device, File, "bench_busy_work");
        }
        catch
        {
            _done.Dispose();
            throw;
        }
    }

    /// <summary>The kernel source, embedded in the bench.</summary>
    internal static string KernelText => BenchKernelModule.Source(File);

    /// <summary>NVRTC options for <paramref name="architecture"/>.</summary>
    internal static string[] Options(string architecture) => BenchKernelModule.Options(architecture);

    public void Run()
    {
        ulong ns = _nanoseconds;
        nint done = _done.Pointer;
        void** arguments = stackalloc void*[2] { &ns, &done };
        using CudaContextScope scope = _device.MakeCurrent();
        Check.Cu(CudaDriver.cuLaunchKernel(_kernel.Function, (uint)_device.Multiprocessors, 1, 1, 128, 1, 1, 0, _stream.Handle, arguments, null), "cuLaunchKernel (busy work)");
    }

    public void Dispose()
    {
        _kernel.Dispose();
        _done.Dispose();
    }
}
