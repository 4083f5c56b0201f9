using System;
using System.Collections.Generic;
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
        // The generated table lists exactly the kernels this (mode, layout)'s launch stubs run.
        ReadOnlySpan<EpKernelSpec> specs = EpKernelTable.For(config.Mode, config.Layout);
        if (specs.Length == 0) throw new NotSupportedException($"No kernels are generated for {config.Mode} / {config.Layout}.");
        List<string> nvrtcOptions = KernelCache.Options(config, device.Architecture, specs[0].Defines);
        byte[] cubin = KernelCache.GetOrCompile(KernelSource.Text, nvrtcOptions, KernelCache.Directory(options), out CompileReport report);
        Report = report;

        using CudaContextScope scope = device.MakeCurrent();
        fixed (byte* image = cubin) Check.Cu(CudaDriver.cuModuleLoadData(out _module, image), "cuModuleLoadData");
        foreach (EpKernelSpec spec in specs)
        {
            if (spec.Defines != specs[0].Defines) throw new NotSupportedException("The kernels of one (mode, layout) must share their defines: they are compiled as one module.");
            nint function = Function(spec.EntryPoint);
            switch (spec.Op)
            {
                case EpOperation.Update: Update = function; break;
                case EpOperation.Dispatch: Dispatch = function; break;
                case EpOperation.Combine: Combine = function; break;
            }
        }
        if (Update == 0 || Dispatch == 0 || Combine == 0)
            throw new NotSupportedException($"The kernel table for {config.Mode} / {config.Layout} does not name an update, dispatch and combine kernel.");
    }

    public nint Update { get; }
    public nint Dispatch { get; }
    public nint Combine { get; }
    public CompileReport Report { get; }

    /// <summary>Sets the dynamic shared memory a kernel may take (needed above 48 KiB minus its static part).</summary>
    public void ReserveSharedMemory(nint function, int bytes)
    {
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
