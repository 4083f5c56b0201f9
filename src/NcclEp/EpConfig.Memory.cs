using System;
using NcclEp.Backend;

namespace NcclEp;

/// <summary>The memory a configuration needs.</summary>
public readonly partial record struct EpConfig
{
    /// <summary>
    /// The memory this configuration needs on <paramref name="worldSize"/> ranks, by part and in all (control path;
    /// computed from the same layouts the backends allocate).
    /// </summary>
    /// <param name="worldSize">Ranks in the group; <see cref="EpMemoryEstimate.Ranks"/> is set to it.</param>
    /// <exception cref="ArgumentException">The configuration is not valid for <paramref name="worldSize"/> (as <see cref="Validate"/>).</exception>
    public EpMemoryEstimate EstimateMemory(int worldSize)
    {
        Validate(worldSize);
        long tokens = (2L * MaxTokensPerRank * RowBytes) + (2L * MaxTokensPerRank * TopK * sizeof(int));
        return new EpMemoryEstimate(
            worldSize,
            new WindowLayout(this, worldSize).TotalBytes,
            new HandleLayout(this, worldSize).TotalBytes,
            tokens,
            ReceiveRows(worldSize) * ((long)ReceivedRowBytes + (4L * ScaleColumns) + RowBytes));
    }
}
