namespace NcclEp.Interop;

/// <summary>A CUstream (cuStreamCreate / cuStreamDestroy_v2), with capture into a CUDA Graph.</summary>
internal sealed class CudaStreamHandle : CudaContextBoundHandle
{
    private CudaStreamHandle(CudaPrimaryContext context)
        : base(context)
    {
    }

    protected override string DestroyCall => "cuStreamDestroy_v2";

    /// <summary>Creates a stream; non-blocking by default (no implicit sync with the legacy default stream).</summary>
    public static CudaStreamHandle Create(CudaPrimaryContext context, CuStreamFlags flags = CuStreamFlags.NonBlocking)
    {
        var stream = new CudaStreamHandle(context);
        try
        {
            using (context.MakeCurrent())
            {
                stream.SetCreated(CudaDriver.cuStreamCreate(out nint value, flags), value, "cuStreamCreate");
            }

            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Waits for all work queued on the stream.</summary>
    public void Synchronize() => Check.Cu(CudaDriver.cuStreamSynchronize(handle), "cuStreamSynchronize");

    /// <summary>True when no queued work is pending.</summary>
    public bool IsIdle()
    {
        CuResult status = CudaDriver.cuStreamQuery(handle);
        if (status == CuResult.ErrorNotReady)
        {
            return false;
        }

        Check.Cu(status, "cuStreamQuery");
        return true;
    }

    /// <summary>Whether the stream is being captured into a graph.</summary>
    public CuStreamCaptureStatus CaptureStatus
    {
        get
        {
            Check.Cu(CudaDriver.cuStreamIsCapturing(handle, out CuStreamCaptureStatus status), "cuStreamIsCapturing");
            return status;
        }
    }

    /// <summary>Starts capturing; always pair with <see cref="EndCapture"/> in a finally block.</summary>
    public void BeginCapture(CuStreamCaptureMode mode = CuStreamCaptureMode.ThreadLocal) =>
        Check.Cu(CudaDriver.cuStreamBeginCapture_v2(handle, mode), "cuStreamBeginCapture_v2");

    /// <summary>Ends capture and returns the captured graph (owned by the caller).</summary>
    public CudaGraphHandle EndCapture() => CudaGraphHandle.EndCapture(Context, handle);

    protected override CuResult Destroy(nint value) => CudaDriver.cuStreamDestroy_v2(value);
}
