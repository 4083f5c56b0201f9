using System;
using System.Diagnostics;
using System.Threading;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// Bounds a rank's waits on its network peers. The kernels' own waits are bounded, but NCCL's send/recv between
/// the send and receive halves waits for a silent peer forever: on the GPU, or on the host when NCCL first connects
/// to that peer inside ncclGroupEnd. Each exchange is bracketed by two events on the stream (event-record nodes when
/// captured into a graph) and its host call is timed; <see cref="NetworkWatchdog"/> looks at both from its thread,
/// and an exchange pending (or a host call blocked) for longer than the group's time-out makes it abort the rank's communicator
/// (ncclCommAbort ends NCCL's wait). The rank's next call then raises <see cref="EpGroupAbortedException"/>.
/// </summary>
internal sealed class NetworkExchangeWatch : IDisposable
{
    private const uint RecordExternal = 1;
    private readonly CudaDevice _device;
    private readonly int _rank;
    private readonly TimeSpan _timeout;
    private readonly Action _abortCommunicator;
    private readonly ExchangeWatchState _state;
    private nint _begun, _done;
    private int _phase, _aborted;
    private long _hostCallSince;

    public NetworkExchangeWatch(CudaDevice device, int rank, TimeSpan timeout, Action abortCommunicator)
    {
        _device = device;
        _rank = rank;
        _timeout = timeout;
        _abortCommunicator = abortCommunicator;
        _state = new ExchangeWatchState((long)(timeout.TotalSeconds * Stopwatch.Frequency));
        using CudaContextScope scope = device.MakeCurrent();
        Check.Cu(CudaDriver.cuEventCreate(out _begun, CuEventFlags.DisableTiming), "cuEventCreate");
        Check.Cu(CudaDriver.cuEventCreate(out _done, CuEventFlags.DisableTiming), "cuEventCreate");
        NetworkWatchdog.Register(this);
    }

    /// <summary>The communicator was aborted: the group is finished.</summary>
    public bool Aborted => Volatile.Read(ref _aborted) != 0;

    /// <summary>Raises <see cref="EpGroupAbortedException"/> once the communicator has been aborted.</summary>
    public void ThrowIfAborted()
    {
        if (Aborted) throw new EpGroupAbortedException(_rank, (EpPhase)Volatile.Read(ref _phase), _timeout);
    }

    /// <summary>Before the NCCL group of an exchange for <paramref name="phase"/> (the caller's context is current).</summary>
    public void Begin(nint stream, EpPhase phase)
    {
        Volatile.Write(ref _phase, (int)phase);
        Record(_begun, stream);
        Volatile.Write(ref _hostCallSince, Stopwatch.GetTimestamp());
    }

    /// <summary>The NCCL group calls have returned (successfully or not).</summary>
    public void HostCallReturned() => Volatile.Write(ref _hostCallSince, 0);

    /// <summary>After the NCCL group of the exchange.</summary>
    public void End(nint stream) => Record(_done, stream);

    private static void Record(nint cuEvent, nint stream)
    {
        // A plain record during capture only joins streams; the external flag makes it a node that fires on replay.
        Check.Cu(CudaDriver.cuStreamIsCapturing(stream, out CuStreamCaptureStatus capture), "cuStreamIsCapturing");
        CuResult status = capture == CuStreamCaptureStatus.Active
            ? CudaDriver.cuEventRecordWithFlags(cuEvent, stream, RecordExternal)
            : CudaDriver.cuEventRecord(cuEvent, stream);
        Check.Cu(status, "cuEventRecord (network exchange watch)");
    }

    /// <summary>One look from the watchdog thread at <paramref name="now"/> (Stopwatch ticks); aborts when stuck.</summary>
    internal void Poll(long now)
    {
        if (Aborted) return;
        bool begun, done;
        using (CudaContextScope scope = CudaContextScope.TryEnter(_device.Context, out CuResult entered))
        {
            if (entered != CuResult.Success) return;
            begun = CudaDriver.cuEventQuery(_begun) == CuResult.Success;
            done = CudaDriver.cuEventQuery(_done) == CuResult.Success;
        }
        bool stuck = _state.HostCallStuck(Volatile.Read(ref _hostCallSince), now) | _state.Observe(begun, done, now);
        if (!stuck) return;
        Volatile.Write(ref _aborted, 1);
        EpMetrics.CommunicatorAborts.Add(1);
        long start = Stopwatch.GetTimestamp();
        try
        {
            _abortCommunicator();
        }
        finally
        {
            EpMetrics.CommunicatorAbortDuration.Record(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
    }

    public void Dispose()
    {
        NetworkWatchdog.Unregister(this);  // after this the watchdog thread no longer touches the events
        if (_begun == 0) return;
        using CudaContextScope scope = CudaContextScope.TryEnter(_device.Context, out _);
        _ = CudaDriver.cuEventDestroy_v2(_begun);
        _ = CudaDriver.cuEventDestroy_v2(_done);
        _begun = _done = 0;
    }
}
