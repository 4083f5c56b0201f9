using System;

namespace NcclEp.Bench;

/// <summary>Median and p90 of one phase's per-iteration times, in µs.</summary>
internal readonly record struct PhaseStats(double MedianUs, double P90Us)
{
    /// <summary>Median (mean of the middle two for an even count) and p90 (nearest rank) of <paramref name="samples"/>.</summary>
    public static PhaseStats Of(ReadOnlySpan<double> samples)
    {
        if (samples.IsEmpty) return default;
        double[] sorted = samples.ToArray();
        Array.Sort(sorted);
        int n = sorted.Length;
        double median = n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
        int p90 = Math.Clamp((int)Math.Ceiling(0.9 * n) - 1, 0, n - 1);
        return new PhaseStats(median, sorted[p90]);
    }

    /// <summary>A phase that was not run (NaN: "-" in the tables, null in JSON): the update under <c>--routing fused</c>.</summary>
    public static PhaseStats NotRun => new(double.NaN, double.NaN);

    /// <summary>Whether the phase was timed.</summary>
    public bool Ran => double.IsFinite(MedianUs);

    /// <summary>The slowest rank's figures: the largest median and the largest p90 (<see cref="NotRun"/> if no rank ran it).</summary>
    public static PhaseStats MaxOver(ReadOnlySpan<PhaseStats> ranks)
    {
        bool ran = false;
        foreach (PhaseStats s in ranks) ran |= s.Ran;
        if (!ran && !ranks.IsEmpty) return NotRun;
        double median = 0, p90 = 0;
        foreach (PhaseStats s in ranks)
        {
            median = Math.Max(median, s.MedianUs);
            p90 = Math.Max(p90, s.P90Us);
        }
        return new PhaseStats(median, p90);
    }
}
