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

    /// <summary>
    /// Whether group creation first compares <see cref="EpConfig.EstimateMemory"/> (window, handle and the caller's
    /// tensors for the layout) with the memory available (Host: this machine's available physical memory; Cuda: each
    /// GPU's free memory) and refuses with <see cref="EpMemoryException"/> a configuration that cannot fit. Default
    /// true; turn it off only when your own tensors are smaller than the estimate counts (e.g. experts that write in place).
    /// </summary>
    public bool CheckMemory { get; init; } = true;
}
