using System;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.Graphs.Recording;

/// <summary>
/// Stream capture on one Cuda rank: checks that the stream is not already capturing, begins a thread-local capture
/// (co-located ranks capture at the same time on their own threads, and one rank's allocations must not invalidate
/// another's capture), and ends it into a graph this object hands over, or destroys it when the step failed.
/// </summary>
internal sealed class CudaStepCapture
{
    private readonly CudaRankBackend _backend;
    private readonly CudaPrimaryContext _context;
    private readonly nint _stream;
    private readonly string _caller;
    private bool _begun;

    /// <param name="backend">The rank's backend.</param>
    /// <param name="context">The rank's primary context, kept open by the caller for as long as the graph lives.</param>
    /// <param name="stream">The stream to capture.</param>
    /// <param name="caller">The public call, for messages.</param>
    public CudaStepCapture(CudaRankBackend backend, CudaPrimaryContext context, EpStream stream, string caller)
    {
        _backend = backend;
        _context = context;
        _stream = stream.Handle;
        _caller = caller;
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> for the legacy default stream and <see cref="InvalidOperationException"/>
    /// for a stream that is being captured already (cuStreamIsCapturing), by us or by anyone else.
    /// </summary>
    public static void ThrowIfUncapturable(CudaRankBackend backend, EpStream stream, string caller)
    {
        if (stream.Handle == 0)
        {
            throw new ArgumentException(
                $"{caller} needs a stream of the caller's: the legacy default stream cannot be captured (and co-located ranks each need their own stream).",
                nameof(stream));
        }
        using CudaContextScope scope = backend.Device.MakeCurrent();
        Check.Cu(CudaDriver.cuStreamIsCapturing(stream.Handle, out CuStreamCaptureStatus status), "cuStreamIsCapturing");
        if (status != CuStreamCaptureStatus.None)
        {
            throw new InvalidOperationException(
                $"{caller}: stream 0x{stream.Handle:X} is already being captured{(status == CuStreamCaptureStatus.Invalidated ? " (and that capture was invalidated)" : "")}; " +
                "captures do not nest: end the other capture first, or capture on another stream.");
        }
    }

    /// <summary>Checks the stream (<see cref="ThrowIfUncapturable"/>), then begins a thread-local capture.</summary>
    public void Begin()
    {
        ThrowIfUncapturable(_backend, new EpStream(_stream), _caller);
        using CudaContextScope scope = _backend.Device.MakeCurrent();
        Check.Cu(CudaDriver.cuStreamBeginCapture_v2(_stream, CuStreamCaptureMode.ThreadLocal), "cuStreamBeginCapture_v2");
        _begun = true;
    }

    /// <summary>
    /// Ends the capture (called from <c>finally</c>). When the step completed, returns the graph (owned by the caller);
    /// otherwise destroys whatever was captured, swallowing driver errors so the step's exception is the one seen.
    /// </summary>
    public CudaGraphHandle? End(bool completed)
    {
        if (!_begun) return null;
        _begun = false;
        if (!completed)
        {
            try
            {
                CudaGraphHandle.EndCapture(_context, _stream).Dispose();
            }
            catch (CudaException)
            {
                // The step's own exception is the one to report.
            }
            return null;
        }
        try
        {
            return CudaGraphHandle.EndCapture(_context, _stream);
        }
        catch (CudaException e) when (e.Status is CuResult.ErrorStreamCaptureInvalidated or CuResult.ErrorStreamCaptureUnsupported
                                          or CuResult.ErrorStreamCaptureWrongThread)
        {
            throw new InvalidOperationException(
                $"{_caller}: the driver invalidated the capture ({e.Message}). Some call inside the step cannot be captured, " +
                "typically the caller's own work: a synchronous copy, an allocation, a synchronisation or work on a stream outside the capture.",
                e);
        }
    }
}
