namespace NcclEp.Cuda;

/// <summary>
/// The decision part of watching a rank's network exchanges, kept apart from CUDA so it can be tested: an exchange
/// is pending when the event recorded before the last enqueued NCCL group has completed and the one after it has
/// not; it is stuck when it stays pending for longer than the time-out. Events report their most recent record, so
/// while the stream is still behind (an earlier operation running, later ones queued) nothing is pending, and a
/// busy loop of exchanges never looks stuck: only the last enqueued exchange can be.
/// </summary>
internal sealed class ExchangeWatchState
{
    private readonly long _timeoutTicks;
    private long _pendingSince = -1;

    /// <param name="timeoutTicks">How long an exchange may stay pending, in the clock's ticks.</param>
    public ExchangeWatchState(long timeoutTicks)
    {
        _timeoutTicks = timeoutTicks;
    }

    /// <summary>Since when (clock ticks) the exchange has looked pending; -1 when it does not.</summary>
    public long PendingSince => _pendingSince;

    /// <summary>
    /// Whether the host call that enqueues the exchange (ncclGroupEnd), in progress since <paramref name="since"/>
    /// (0: none), has blocked past the time-out: NCCL connects to a peer on the first exchange with it, on the host,
    /// and waits there for a peer that never comes.
    /// </summary>
    public bool HostCallStuck(long since, long now) => since != 0 && now - since > _timeoutTicks;

    /// <summary>One look at the two events at time <paramref name="now"/>; true when the exchange is stuck.</summary>
    public bool Observe(bool begun, bool done, long now)
    {
        if (!begun || done)
        {
            _pendingSince = -1;
            return false;
        }
        if (_pendingSince < 0) _pendingSince = now;
        return now - _pendingSince > _timeoutTicks;
    }
}
