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
        try
        {
            Name = CudaDriver.GetDeviceName(ordinal);
            Major = CudaDriver.GetAttribute(ordinal, CuDeviceAttribute.ComputeCapabilityMajor);
            Minor = CudaDriver.GetAttribute(ordinal, CuDeviceAttribute.ComputeCapabilityMinor);
            Multiprocessors = CudaDriver.GetAttribute(ordinal, CuDeviceAttribute.MultiprocessorCount);
            if (CudaDriver.GetAttribute(ordinal, CuDeviceAttribute.UnifiedAddressing) == 0)
                throw new NotSupportedException($"GPU {ordinal} ({Name}) has no unified addressing; NcclEp needs it for mapped error records.");
            if (Major < 7)
                throw new NotSupportedException($"GPU {ordinal} ({Name}) is sm_{Major}{Minor}; NcclEp's kernels need sm_70 or newer (acquire/release memory operations).");
            using CudaContextScope scope = MakeCurrent();
            Check.Cu(CudaDriver.cuStreamCreate(out nint transfer, CuStreamFlags.NonBlocking), "cuStreamCreate (transfer stream)");
            _transferStream = transfer;
        }
        catch
        {
            _ = CudaDriver.cuDevicePrimaryCtxRelease_v2(ordinal);  // no Dispose will come for a device that failed here
            throw;
        }
    }

    private nint _transferStream;

    /// <summary>
    /// A non-blocking stream for the control path's copies and fills, each synchronised before it returns. One for
    /// the device's life rather than one per call: co-located ranks need a hardware work queue each, and this one
    /// is the "+ 1" of the W + 1 that CreateCuda asks for (docs/failure-handling.md).
    /// </summary>
    public nint TransferStream
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _transferStream;
        }
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
        if (_transferStream != 0)
        {
            using CudaContextScope scope = CudaContextScope.TryEnter(Context, out _);
            _ = CudaDriver.cuStreamDestroy_v2(_transferStream);
            _transferStream = 0;
        }
        _ = CudaDriver.cuDevicePrimaryCtxRelease_v2(Ordinal);
    }
}
