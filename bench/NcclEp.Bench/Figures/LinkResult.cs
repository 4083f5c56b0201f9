using System;

namespace NcclEp.Bench;

/// <summary>
/// The link's bandwidth, measured in the same run as the phases: one 1 GiB peer copy between two of the run's GPUs
/// (<see cref="PeerCopyLink"/>), or why it was not measured. A phase cannot move a rank's remote bytes faster than
/// this, so <see cref="BoundUs"/> of those bytes is a lower bound on its time: the link bound.
/// </summary>
internal sealed record LinkResult(string? NotMeasured, PhaseStats Copy)
{
    /// <summary>The copy's size: 1 GiB, large enough that the copy's launch is negligible beside the transfer.</summary>
    public const long CopyBytes = 1L << 30;

    /// <summary>How the link is measured, for the outputs.</summary>
    public static readonly string Method =
        $"one {CopyBytes} B (1 GiB) cuMemcpyPeerAsync from rank 0's GPU to rank 1's, alone on the GPUs, CUDA events, median of " +
        $"{PeerCopyLink.Iterations} after {PeerCopyLink.Warmups} warm-ups";

    /// <summary>How the link bound and the % of link are worked out, for the outputs.</summary>
    public const string Formula =
        "link bound µs = the busiest rank's remote bytes (the larger of what it sends to and receives from other ranks) / link GB/s / 1e3; " +
        "% of link = link bound / phase median (slowest rank) × 100";

    public bool Measured => NotMeasured is null;

    /// <summary>The copy's bandwidth in GB/s (10^9 B/s); NaN where not measured.</summary>
    public double GBps => Measured && Copy.MedianUs > 0 ? Units.GigabytesPerSecond(CopyBytes, Copy.MedianUs) : double.NaN;

    public static LinkResult Skipped(string why) => new(why, default);

    /// <summary>The time <paramref name="bytes"/> take at the link's bandwidth, in µs; NaN where not measured.</summary>
    public double BoundUs(long bytes) => double.IsFinite(GBps) && GBps > 0 ? bytes / (GBps * 1e3) : double.NaN;

    /// <summary>Link bound / phase time in percent: 100% would be a phase as fast as its bytes cross the link (NaN where either is missing).</summary>
    public static double PercentOf(double boundUs, PhaseStats phase) =>
        double.IsFinite(boundUs) && phase.MedianUs > 0 ? 100 * boundUs / phase.MedianUs : double.NaN;

    /// <summary>The line that says how the link was measured and what it reached, or why it was not.</summary>
    public string Line() => Measured
        ? FormattableString.Invariant($"link: {Units.Rate(GBps)} GB/s ({Units.Micros(Copy.MedianUs)} µs for 1 GiB): {Method}")
        : $"link: not measured, link bound n/a: {NotMeasured}";
}
