using System;
using System.Collections.Generic;
using System.Globalization;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>The three kernels of one configuration (update, dispatch route, combine route) loaded on one device.</summary>
internal sealed unsafe class CudaKernelModule : IDisposable
{
    public const int ThreadsPerBlock = 512;
    private readonly CudaDevice _device;
    private nint _module;

    public CudaKernelModule(CudaDevice device, in EpConfig config, EpGroupOptions options)
    {
        _device = device;
        string defines = string.Create(CultureInfo.InvariantCulture, $"-DNCCLEP_MODE={(int)config.Mode} -DNCCLEP_LAYOUT={(int)config.Layout}");
        List<string> nvrtcOptions = KernelCache.Options(config, device.Architecture, defines);
        byte[] cubin = KernelCache.GetOrCompile(KernelSource.Text, nvrtcOptions, KernelCache.Directory(options), out CompileReport report);
        Report = report;

        using CudaContextScope scope = device.MakeCurrent();
        fixed (byte* image = cubin) Check.Cu(CudaDriver.cuModuleLoadData(out _module, image), "cuModuleLoadData");
        Update = Function("ncclep_update");
        Dispatch = Function("ncclep_dispatch");
        Combine = Function("ncclep_combine");
    }

    public nint Update { get; }
    public nint Dispatch { get; }
    public nint Combine { get; }
    public CompileReport Report { get; }

    /// <summary>Lets a kernel take more than 48 KiB of dynamic shared memory when a config needs it.</summary>
    public void ReserveSharedMemory(nint function, int bytes)
    {
        if (bytes <= 48 * 1024) return;
        using CudaContextScope scope = _device.MakeCurrent();
        Check.Cu(CudaDriver.cuFuncSetAttribute(function, CuFunctionAttribute.MaxDynamicSharedSizeBytes, bytes), "cuFuncSetAttribute");
    }

    private nint Function(string name)
    {
        nint function;
        Check.Cu(CudaDriver.cuModuleGetFunction(out function, _module, name), $"cuModuleGetFunction({name})");
        return function;
    }

    public void Dispose()
    {
        if (_module == 0) return;
        using CudaContextScope scope = CudaContextScope.TryEnter(_device.Context, out _);
        _ = CudaDriver.cuModuleUnload(_module);
        _module = 0;
    }
}
