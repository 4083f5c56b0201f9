using System;

namespace NcclEp;

/// <summary>
/// A configuration cannot fit: group creation found less memory available than <see cref="Estimate"/> needs, and
/// refused before allocating anything (instead of failing, or being killed, part of the way through).
/// </summary>
public sealed class EpMemoryException : EpException
{
    /// <summary>Creates the exception with the numbers it reports.</summary>
    /// <param name="estimate">What the ranks that share the memory need.</param>
    /// <param name="availableBytes">What the memory has available.</param>
    /// <param name="memory">Which memory, e.g. <c>this machine</c> or <c>GPU 0</c>.</param>
    /// <param name="source">Where <paramref name="availableBytes"/> was read, e.g. <c>MemAvailable in /proc/meminfo</c>.</param>
    public EpMemoryException(EpMemoryEstimate estimate, long availableBytes, string memory, string source)
        : base($"The configuration needs {EpMemoryEstimate.Format(estimate.TotalBytes)} on {memory} and {EpMemoryEstimate.Format(availableBytes)} " +
            $"is available ({source}): needed {estimate}. Lower MaxTokensPerRank or Hidden, or put fewer ranks on {memory}.")
    {
        Estimate = estimate;
        AvailableBytes = availableBytes;
        Memory = memory;
    }

    /// <summary>What the ranks that share the memory need, by part.</summary>
    public EpMemoryEstimate Estimate { get; }

    /// <summary>Bytes the memory had available when the group was created.</summary>
    public long AvailableBytes { get; }

    /// <summary>Which memory: <c>this machine</c> (Host backend) or a GPU.</summary>
    public string Memory { get; }
}
