using System;

namespace NcclEp.Bench;

/// <summary>
/// The NCCL all-to-all baseline of one configuration (<see cref="NcclAllToAllBaseline"/>: median µs per phase, slowest
/// rank), or why it did not run, so the reports set it beside the phases and their link bound.
/// </summary>
internal sealed record BaselineResult(string? NotRun, double DispatchUs, double CombineUs)
{
    public const string Method = "NCCL all-to-all (counts first, host sync, then rows; median, slowest rank)";

    public bool Ran => NotRun is null;

    public static BaselineResult Skipped(string why) => new(why, double.NaN, double.NaN);

    /// <summary>The line the run prints: both phases' times, or why the baseline did not run.</summary>
    public string Line() => Ran
        ? FormattableString.Invariant($"baseline {Method}: dispatch {DispatchUs:0.0} µs, combine {CombineUs:0.0} µs")
        : $"baseline: {NotRun}";
}
