using System.Runtime.CompilerServices;

namespace NcclEp.Interop;

/// <summary>A CUevent (cuEventCreate / cuEventDestroy_v2): stream ordering and timing.</summary>
internal sealed class CudaEventHandle : CudaContextBoundHandle
{
    private CudaEventHandle(CudaPrimaryContext context)
        : base(context)
    {
    }

    protected override string DestroyCall => "cuEventDestroy_v2";

    /// <summary>Creates an event; pass <see cref="CuEventFlags.DisableTiming"/> for pure ordering (cheaper).</summary>
    public static CudaEventHandle Create(CudaPrimaryContext context, CuEventFlags flags = CuEventFlags.Default)
    {
        var cuEvent = new CudaEventHandle(context);
        try
        {
            using (context.MakeCurrent())
            {
                cuEvent.SetCreated(CudaDriver.cuEventCreate(out nint value, flags), value, "cuEventCreate");
            }

            return cuEvent;
        }
        catch
        {
            cuEvent.Dispose();
            throw;
        }
    }

    /// <summary>Records the event on a stream (data path: cached function pointer, status returned).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public CuResult Record(nint stream) => CudaHotPath.EventRecord(handle, stream);

    /// <summary>Blocks until the event has completed.</summary>
    public void Synchronize() => Check.Cu(CudaDriver.cuEventSynchronize(handle), "cuEventSynchronize");

    /// <summary>True when the work before the event has completed.</summary>
    public bool IsComplete()
    {
        CuResult status = CudaDriver.cuEventQuery(handle);
        if (status == CuResult.ErrorNotReady)
        {
            return false;
        }

        Check.Cu(status, "cuEventQuery");
        return true;
    }

    /// <summary>Milliseconds between two completed, timing-enabled events (cuEventElapsedTime_v2).</summary>
    public static float ElapsedMilliseconds(CudaEventHandle start, CudaEventHandle end)
    {
        System.ArgumentNullException.ThrowIfNull(start);
        System.ArgumentNullException.ThrowIfNull(end);
        Check.Cu(CudaDriver.cuEventElapsedTime_v2(out float milliseconds, start.Value, end.Value), "cuEventElapsedTime_v2");
        return milliseconds;
    }

    protected override CuResult Destroy(nint value) => CudaDriver.cuEventDestroy_v2(value);
}
