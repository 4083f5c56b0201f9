using System;
using NcclEp;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.Bench;

/// <summary>
/// The compute of <c>--concurrent-compute</c>: Kernels/concurrent_compute.cu, one block of <see cref="ThreadsPerBlock"/>
/// threads per SM that NcclEp leaves free, on a stream of its own beside the rank's, timed with CUDA events on that
/// stream. Everything (module, stream, events, the per-block sums) is made once; a launch allocates nothing.
/// </summary>
internal sealed unsafe class ConcurrentCompute : IDisposable
{
    /// <summary>Independent FMA chains per thread (the kernel's CHAINS).</summary>
    public const int Chains = 8;

    /// <summary>Threads per block (the kernel's THREADS).</summary>
    public const int ThreadsPerBlock = 512;

    /// <summary>The longest chain that keeps every value exact in fp32 (7 + 2^20 × 2^-10 and the sum of 8 such, in units of 2^-10, below 2^24).</summary>
    public const uint MaxIterations = 1u << 20;

    /// <summary>The added step, 2^-10: a power of two, so every partial value is exact.</summary>
    public const float Step = 1f / 1024;

    private const string File = "concurrent_compute.cu";
    private readonly CudaDevice _device;
    private readonly BenchKernelModule _kernel;
    private readonly EpBuffer _blockUnits;
    private readonly CudaPhaseTimer _timer;
    private readonly ulong[] _readBack;
    private nint _stream;

    public ConcurrentCompute(RankState state, int blocks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        _device = ((CudaRankBackend)state.Group.RankBackend).Device;
        Blocks = blocks;
        _readBack = new ulong[blocks];
        _blockUnits = state.Backend.AllocateBuffer(state.Group, 8L * blocks);
        try
        {
            _kernel = new BenchKernelModule(_device, File, "bench_concurrent_compute");
            using (CudaContextScope scope = _device.MakeCurrent())
                Check.Cu(CudaDriver.cuStreamCreate(out _stream, CuStreamFlags.NonBlocking), "cuStreamCreate (concurrent compute)");
            _timer = new CudaPhaseTimer(_device.Context, _stream);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The kernel source, embedded in the bench.</summary>
    internal static string KernelText => BenchKernelModule.Source(File);

    /// <summary>Blocks per launch: the SMs left free.</summary>
    public int Blocks { get; }

    /// <summary>Floating-point operations of one launch of <paramref name="blocks"/> blocks: an FMA is two.</summary>
    public static double Flops(int blocks, uint iterations) => 2.0 * Chains * ThreadsPerBlock * blocks * iterations;

    /// <summary>
    /// Each block's sum in units of <see cref="Step"/>: thread values start at the chain index j and gain one step per
    /// iteration, so a thread adds Σ_j (j × 1024 + iterations) units and a block that many times its threads.
    /// </summary>
    public static ulong ExpectedBlockUnits(uint iterations) =>
        (ulong)ThreadsPerBlock * ((1024UL * Chains * (Chains - 1) / 2) + ((ulong)Chains * iterations));

    /// <summary>Queues one launch on the compute stream, between its two events.</summary>
    public void Launch(uint iterations)
    {
        float scale = 1f, step = Step;
        nint units = _blockUnits.Pointer;
        void** arguments = stackalloc void*[4] { &iterations, &scale, &step, &units };
        using CudaContextScope scope = _device.MakeCurrent();
        _timer.Begin(BenchPhase.Update);
        Check.Cu(CudaDriver.cuLaunchKernel(_kernel.Function, (uint)Blocks, 1, 1, ThreadsPerBlock, 1, 1, 0, _stream, arguments, null),
            "cuLaunchKernel (concurrent compute)");
        _timer.End(BenchPhase.Update);
    }

    /// <summary>Waits for the compute stream.</summary>
    public void Synchronize()
    {
        using CudaContextScope scope = _device.MakeCurrent();
        Check.Cu(CudaDriver.cuStreamSynchronize(_stream), "cuStreamSynchronize (concurrent compute)");
    }

    /// <summary>The last launch's time (after <see cref="Synchronize"/>).</summary>
    public double ElapsedMicroseconds => _timer.ElapsedMicroseconds(BenchPhase.Update);

    /// <summary>One launch on zeroed sums, then every block's sum against <see cref="ExpectedBlockUnits"/>: null, or what is wrong.</summary>
    public string? CheckResult(uint iterations)
    {
        _blockUnits.Fill(0);
        Launch(iterations);
        Synchronize();
        _blockUnits.Download<ulong>(_readBack);
        ulong expected = ExpectedBlockUnits(iterations);
        for (int b = 0; b < _readBack.Length; b++)
        {
            if (_readBack[b] != expected)
                return $"the concurrent compute kernel's block {b} summed {_readBack[b]} units, not {expected} ({iterations} iterations): its throughput would not be real.";
        }
        return null;
    }

    public void Dispose()
    {
        _timer?.Dispose();
        if (_stream != 0)
        {
            using CudaContextScope scope = CudaContextScope.TryEnter(_device.Context, out _);
            _ = CudaDriver.cuStreamDestroy_v2(_stream);
            _stream = 0;
        }
        _kernel?.Dispose();
        _blockUnits.Dispose();
    }
}
