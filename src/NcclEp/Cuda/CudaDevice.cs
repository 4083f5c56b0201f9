using System;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>One GPU: its retained primary context and the properties the kernels are built and sized for.</summary>
internal sealed class CudaDevice : IDisposable
{
    private bool _disposed;

    public CudaDevice(int ordinal)
    {
        CudaDriver.Initialize();
        Check.Cu(CudaDriver.cuDeviceGetCount(out int count), "cuDeviceGetCount");
        if ((uint)ordinal >= (uint)count)
            ThrowHelper.OutOfRange("deviceIds", ordinal, $"is not a CUDA device: this machine has {count}");
        Ordinal = ordinal;
        Check.Cu(CudaDriver.cuDevicePrimaryCtxRetain(out nint context, ordinal), "cuDevicePrimaryCtxRetain");
        Context = context;
        Name = CudaDriver.GetDeviceName(ordinal);
        Major = CudaDriver.GetAttribute(ordinal, CuDeviceAttribute.ComputeCapabilityMajor);
        Minor = CudaDriver.GetAttribute(ordinal, CuDeviceAttribute.ComputeCapabilityMinor);
        Multiprocessors = CudaDriver.GetAttribute(ordinal, CuDeviceAttribute.MultiprocessorCount);
        if (CudaDriver.GetAttribute(ordinal, CuDeviceAttribute.UnifiedAddressing) == 0)
            throw new NotSupportedException($"GPU {ordinal} ({Name}) has no unified addressing; NcclEp needs it for mapped error records.");
        if (Major < 7)
            throw new NotSupportedException($"GPU {ordinal} ({Name}) is sm_{Major}{Minor}; NcclEp's kernels need sm_70 or newer (acquire/release memory operations).");
    }

    public int Ordinal { get; }
    public nint Context { get; }
    public string Name { get; }
    public int Major { get; }
    public int Minor { get; }
    public int Multiprocessors { get; }

    /// <summary>NVRTC's target for this device, e.g. sm_90.</summary>
    public string Architecture => $"sm_{Major}{Minor}";

    public CudaContextScope MakeCurrent() => CudaContextScope.Enter(Context);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _ = CudaDriver.cuDevicePrimaryCtxRelease_v2(Ordinal);
    }
}
