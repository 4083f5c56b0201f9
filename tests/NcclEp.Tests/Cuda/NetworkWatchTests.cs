using System;
using NcclEp.Cuda;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// The watchdog's decision (<see cref="ExchangeWatchState"/>): only an exchange that stays between its two events
/// for longer than the time-out is stuck; progress, an idle stream or a stream still behind never is.
/// </summary>
public sealed class NetworkWatchTests
{
    private const long Timeout = 1000;

    [Fact]
    public void An_exchange_pending_past_the_timeout_is_stuck_and_not_before()
    {
        var state = new ExchangeWatchState(Timeout);

        Assert.False(state.Observe(begun: true, done: false, now: 50));
        Assert.Equal(50, state.PendingSince);
        Assert.False(state.Observe(true, false, 50 + Timeout));
        Assert.True(state.Observe(true, false, 51 + Timeout));
    }

    [Fact]
    public void An_exchange_that_completes_resets_the_clock()
    {
        var state = new ExchangeWatchState(Timeout);
        Assert.False(state.Observe(true, false, 0));
        Assert.False(state.Observe(true, true, 900));  // done: the next exchange starts from zero
        Assert.Equal(-1, state.PendingSince);
        Assert.False(state.Observe(true, false, 950));
        Assert.False(state.Observe(true, false, 1900));
        Assert.True(state.Observe(true, false, 1951));
    }

    [Fact]
    public void A_stream_still_behind_the_exchange_or_idle_is_never_stuck()
    {
        var state = new ExchangeWatchState(Timeout);
        for (long now = 0; now < 10 * Timeout; now += 100)
        {
            Assert.False(state.Observe(begun: false, done: false, now));  // earlier work still running
            Assert.False(state.Observe(begun: true, done: true, now));    // idle after the exchange
        }
        Assert.Equal(-1, state.PendingSince);
    }

    [Fact]
    public void A_host_call_blocked_past_the_timeout_is_stuck_and_none_in_progress_never_is()
    {
        var state = new ExchangeWatchState(Timeout);
        Assert.False(state.HostCallStuck(since: 0, now: 100 * Timeout));
        Assert.False(state.HostCallStuck(since: 500, now: 500 + Timeout));
        Assert.True(state.HostCallStuck(since: 500, now: 501 + Timeout));
    }

    [Fact]
    public void The_aborted_exception_names_the_rank_the_route_the_timeout_and_what_to_do()
    {
        var e = new EpGroupAbortedException(3, EpPhase.CombineReceive, TimeSpan.FromSeconds(2));

        Assert.Equal(3, e.Rank);
        Assert.Equal(EpPhase.CombineReceive, e.Phase);
        Assert.Contains("Rank 3", e.Message, StringComparison.Ordinal);
        Assert.Contains("combine", e.Message, StringComparison.Ordinal);
        Assert.Contains("2000 ms", e.Message, StringComparison.Ordinal);
        Assert.Contains("ncclCommAbort", e.Message, StringComparison.Ordinal);
        Assert.Contains("create a new one", e.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<EpException>(e);
    }
}
