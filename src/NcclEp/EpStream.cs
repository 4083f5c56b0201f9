using System;
namespace NcclEp;

/// <summary>
/// The stream a data-path call is ordered on: a <c>CUstream</c> on the Cuda backend; ignored on the Host
/// backend, where every call completes on the calling rank thread before it returns.
/// </summary>
/// <param name="Handle">The native stream handle; zero is the legacy default stream.</param>
public readonly record struct EpStream(nint Handle)
{
    /// <summary>The default stream (handle zero).</summary>
    public static EpStream Default => default;
}
