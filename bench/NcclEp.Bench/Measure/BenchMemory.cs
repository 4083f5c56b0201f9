using System;
using NcclEp;
using NcclEp.Backend;

namespace NcclEp.Bench;

/// <summary>
/// What a run needs in memory (the library's estimate at its largest size, plus the bench's own host copies of the
/// inputs), for the output, and the refusal of a run this machine cannot hold, before anything is allocated: the
/// alternative is minutes of silence and then the kernel's out-of-memory killer.
/// </summary>
internal readonly record struct BenchMemory(RunPoint Point, EpMemoryEstimate Estimate, long InputCopyBytes, bool HostBackend)
{
    /// <summary>The run's largest size: the point whose estimate is largest.</summary>
    public static BenchMemory Of(BenchOptions options, bool hostBackend)
    {
        BenchMemory largest = default;
        foreach (RunPoint point in options.RunPoints())
        {
            EpConfig config = options.ToConfig(point);
            long inputs = (long)options.Ranks * config.MaxTokensPerRank * (config.RowBytes + (2L * config.TopK * sizeof(int)));
            var need = new BenchMemory(point, config.EstimateMemory(options.Ranks), inputs, hostBackend);
            if (need.HostBytes >= largest.HostBytes) largest = need;
        }
        return largest;
    }

    /// <summary>Bytes this process needs: the ranks' memory on the Host backend (it is native memory here), and the input copies.</summary>
    public long HostBytes => (HostBackend ? Estimate.TotalBytes : 0) + InputCopyBytes;

    /// <summary>The line the bench prints after the configuration.</summary>
    public string Line() => HostBackend
        ? $"memory: {Estimate} at {Point}; + {EpMemoryEstimate.Format(InputCopyBytes)} of the bench's input copies"
        : $"memory: {EpMemoryEstimate.Format(Estimate.PerRankBytes)} per rank on its GPU at {Point} ({Estimate}); " +
            $"+ {EpMemoryEstimate.Format(InputCopyBytes)} of the bench's input copies on this machine";

    /// <summary>Why the run cannot fit in <paramref name="availableBytes"/>, or null when it fits.</summary>
    public string? Refusal(long availableBytes, string source)
    {
        if (HostBytes <= availableBytes) return null;
        string library = HostBackend ? $"{Estimate} for the ranks at {Point}, + " : "";
        return $"this run needs {EpMemoryEstimate.Format(HostBytes)} of memory on this machine and {EpMemoryEstimate.Format(availableBytes)} is available ({source}): " +
            $"{library}{EpMemoryEstimate.Format(InputCopyBytes)} of the bench's input copies. Lower --tokens, --hidden or --ranks.";
    }

    /// <summary><see cref="Refusal"/> against what this machine has available now.</summary>
    public string? RefusalHere() => Refusal(MemoryGuard.HostAvailableBytes(out string source), source);
}
