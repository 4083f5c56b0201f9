using System;
namespace NcclEp;

/// <summary>Settings of a group that do not change its kernels.</summary>
public sealed record EpGroupOptions
{
    /// <summary>The default options.</summary>
    public static EpGroupOptions Default { get; } = new();

    /// <summary>
    /// How long any wait on a peer may last before the wait gives up and the call raises
    /// <see cref="EpTimeoutException"/>. Default 10 s.
    /// </summary>
    public TimeSpan PeerTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Folder for compiled kernels (Cuda backend). Default: <c>NCCLEP_CACHE_DIR</c> if set, else
    /// <c>~/.cache/ncclep/kernels</c>.
    /// </summary>
    public string? KernelCacheDirectory { get; init; }
}
