using System;
using System.Diagnostics;

namespace NcclEp.Distributed;

/// <summary>A point in monotonic time that a bounded wait must not pass.</summary>
internal readonly struct Deadline
{
    private readonly long _end;

    private Deadline(long end) => _end = end;

    public static Deadline After(TimeSpan span)
    {
        long ticks = (long)Math.Min(span.TotalSeconds * Stopwatch.Frequency, long.MaxValue / 4);
        return new Deadline(Stopwatch.GetTimestamp() + ticks);
    }

    /// <summary>The earlier of two deadlines.</summary>
    public static Deadline Min(Deadline a, Deadline b) => a._end <= b._end ? a : b;

    public bool Expired => Stopwatch.GetTimestamp() >= _end;

    public TimeSpan Remaining => TimeSpan.FromSeconds(Math.Max(0, _end - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);

    /// <summary>Whole milliseconds left, at least 1 (socket timeouts treat 0 as "forever").</summary>
    public int RemainingMilliseconds => (int)Math.Clamp(Math.Ceiling(Remaining.TotalMilliseconds), 1, int.MaxValue);
}
