using System;
using System.Collections.Concurrent;
using System.IO;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.Bench;

/// <summary>
/// One of the bench's own kernels (Kernels/*.cu, embedded in the bench) compiled with NVRTC through the library's kernel
/// cache and loaded on a device: the busy work of <c>--overlap-work-us</c>, the compute of <c>--concurrent-compute</c>.
/// </summary>
internal sealed unsafe class BenchKernelModule : IDisposable
{
    private static readonly ConcurrentDictionary<string, string> Sources = new(StringComparer.Ordinal);
    private readonly CudaDevice _device;
    private nint _module;

    /// <summary>Compiles (or takes from the cache) <paramref name="file"/> for the device and looks up <paramref name="function"/>.</summary>
    public BenchKernelModule(CudaDevice device, string file, string function)
    {
        _device = device;
        byte[] cubin = KernelCache.GetOrCompile(Source(file), Options(device.Architecture), KernelCache.Directory(new EpGroupOptions()), out _);
        using CudaContextScope scope = device.MakeCurrent();
        fixed (byte* image = cubin) Check.Cu(CudaDriver.cuModuleLoadData(out _module, image), $"cuModuleLoadData ({file})");
        Check.Cu(CudaDriver.cuModuleGetFunction(out nint handle, _module, function), $"cuModuleGetFunction({function})");
        Function = handle;
    }

    /// <summary>The loaded function, for cuLaunchKernel.</summary>
    public nint Function { get; private set; }

    /// <summary>The source of <paramref name="file"/> (a name under Kernels/), read once from the bench's resources.</summary>
    public static string Source(string file) => Sources.GetOrAdd(file, static name =>
    {
        using Stream stream = typeof(BenchKernelModule).Assembly.GetManifestResourceStream("NcclEp.Bench.Kernels." + name)
            ?? throw new InvalidOperationException($"{name} is not embedded in the bench.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>NVRTC options for <paramref name="architecture"/>.</summary>
    public static string[] Options(string architecture) => [$"--gpu-architecture={architecture}", "-std=c++17", "-default-device"];

    public void Dispose()
    {
        if (_module == 0) return;
        using CudaContextScope scope = CudaContextScope.TryEnter(_device.Context, out _);
        _ = CudaDriver.cuModuleUnload(_module);
        _module = 0;
        Function = 0;
    }
}
