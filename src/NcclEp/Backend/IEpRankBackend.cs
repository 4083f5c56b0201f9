using System;
namespace NcclEp.Backend;

/// <summary>
/// What a backend does for one rank. The data-path members must not allocate, block on the host
/// (beyond the Host backend's own bounded waits) or read sizes back from the device.
/// </summary>
internal interface IEpRankBackend : IDisposable
{
    EpBackendKind Kind { get; }

    /// <summary>Device memory for handles and for callers (control path).</summary>
    EpBuffer Allocate(long bytes);

    void Update(EpHandle handle, ref readonly EpLaunchArgs args);

    /// <summary>
    /// A dispatch with <see cref="EpLaunchArgs.Routing"/> first routes, exactly as <see cref="Update"/> (on the Cuda backend
    /// inside the dispatch kernel when the routing is one update tile), then dispatches.
    /// </summary>
    void Dispatch(EpHandle handle, ref readonly EpLaunchArgs args);

    /// <summary>
    /// Checks the routing of a dispatch with <see cref="EpLaunchArgs.Routing"/> before the group counts the operation,
    /// where the backend reads it on the host: the Host backend raises what <see cref="Update"/> would for a bad id. The
    /// Cuda kernels record a bad id instead (raised by a later call), so there it checks nothing.
    /// </summary>
    void CheckRouting(ref readonly EpLaunchArgs args);

    void Combine(EpHandle handle, ref readonly EpLaunchArgs args);

    /// <summary>Writes the active rank mask that every kernel reads (control path).</summary>
    void SetActiveRanks(ReadOnlySpan<bool> active);

    /// <summary>Raises the error a kernel recorded, if any (EpTimeoutException and friends).</summary>
    void CheckErrors();

    /// <summary>Waits until all work this rank queued is done (control path, tests, benchmarks).</summary>
    void Synchronize(EpStream stream);

    /// <summary>Copies device bytes at <paramref name="source"/> into host memory, complete on return (control path).</summary>
    void CopyToHost(nint source, Span<byte> destination);
}
