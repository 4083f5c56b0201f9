using System;

namespace NcclEp.Bench;

/// <summary>
/// The peer-copy ceiling of one configuration: how long a plain copy-engine copy of the same remote bytes between
/// the same GPUs takes (every rank to every peer at once; median, slowest rank), or why it was not measured.
/// </summary>
internal sealed record CeilingResult(string? NotMeasured, PhaseStats Dispatch, PhaseStats Combine, PeerCopyBytes Bytes)
{
    /// <summary>How the ceiling is taken, for the outputs.</summary>
    public const string Method =
        "cuMemcpyPeerAsync of each rank's remote rows to each peer, all ranks and peers at once (one stream per peer), " +
        "CUDA events, median over the same iterations as the phases, slowest rank; % of ceiling = ceiling time / EP phase time";

    public bool Measured => NotMeasured is null;

    /// <summary>All ranks' remote dispatch bytes over the slowest rank's median copy time.</summary>
    public double DispatchGBps => Measured ? Units.GigabytesPerSecond(Bytes.DispatchBytes, Dispatch.MedianUs) : double.NaN;

    /// <summary>All ranks' remote combine bytes over the slowest rank's median copy time.</summary>
    public double CombineGBps => Measured ? Units.GigabytesPerSecond(Bytes.CombineBytes, Combine.MedianUs) : double.NaN;

    public static CeilingResult Skipped(string why, PeerCopyBytes bytes) => new(why, default, default, bytes);

    /// <summary>Ceiling time / phase time in percent (NaN when either is missing).</summary>
    public static double PercentOf(PhaseStats ceiling, PhaseStats phase, bool measured) =>
        measured && ceiling.MedianUs > 0 && phase.MedianUs > 0 ? 100 * ceiling.MedianUs / phase.MedianUs : double.NaN;

    /// <summary>The line that says whether and how the ceiling was taken.</summary>
    public string Line() => Measured
        ? $"peer-copy ceiling: {Method}"
        : $"peer-copy ceiling: not measured: {NotMeasured}";
}
