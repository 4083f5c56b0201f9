using Microsoft.Win32.SafeHandles;

namespace NcclEp.Interop;

/// <summary>
/// A retained primary context of one device (cuDevicePrimaryCtxRetain / cuDevicePrimaryCtxRelease_v2). It is
/// the context the CUDA runtime, and so NCCL, uses for that device. Handles created in it hold a reference, so
/// the release happens only after the last of them is gone.
/// </summary>
internal sealed class CudaPrimaryContext : SafeHandleZeroOrMinusOneIsInvalid
{
    private CudaPrimaryContext(int device)
        : base(ownsHandle: true)
    {
        Device = device;
    }

    /// <summary>The device ordinal.</summary>
    public int Device { get; }

    /// <summary>The CUcontext; valid while this handle is open.</summary>
    public nint Value => handle;

    /// <summary>Initializes the driver if needed and retains <paramref name="device"/>'s primary context.</summary>
    public static CudaPrimaryContext Retain(int device)
    {
        CudaDriver.Initialize();
        var context = new CudaPrimaryContext(device);
        Check.Cu(CudaDriver.cuDevicePrimaryCtxRetain(out nint value, device), "cuDevicePrimaryCtxRetain");
        context.SetHandle(value);
        return context;
    }

    /// <summary>Makes this context current until the returned scope is disposed.</summary>
    public CudaContextScope MakeCurrent() => CudaContextScope.Enter(handle);

    protected override bool ReleaseHandle() =>
        NativeRelease.Accept(CudaDriver.cuDevicePrimaryCtxRelease_v2(Device), "cuDevicePrimaryCtxRelease_v2");
}
