using System;

namespace NcclEp.Bench;

/// <summary>
/// The Cuda backend's entry point: the lead replaces this file (and adds <c>CudaBenchBackend.cs</c>).
/// </summary>
internal static partial class BenchBackends
{
    /// <summary>
    /// Creates the Cuda backend for <paramref name="options"/> (ranks = GPUs), or returns false with the
    /// reason it cannot run (no driver, too few GPUs, not built in). Called only after
    /// <see cref="TryFindDriver"/> found the driver library.
    /// </summary>
    public static bool TryCreateCuda(BenchOptions options, out IBenchBackend? backend, out string reason)
    {
        backend = null;
        reason = "the Cuda backend is not built into this bench yet";
        return false;
    }
}
