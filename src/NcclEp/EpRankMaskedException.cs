using System;

namespace NcclEp;

/// <summary>
/// This rank was masked out of the group by a survivor (<see cref="EpGroup.SetActiveRanks"/> on another rank), so it
/// may no longer write into its peers' windows: the call wrote nothing to any peer. A masked rank cannot rejoin; every
/// later call on this rank raises this exception too. Dispose the group (docs/failure-handling.md, "Masked ranks write
/// nothing late").
/// </summary>
/// <remarks>
/// Host backend: raised by the call itself, before it writes anything. Cuda backend: the kernel finds the survivor's
/// mark before its first store to a peer, records it and returns; the next call, <see cref="EpGroup.CheckErrors"/> or
/// <see cref="EpGroup.Synchronize"/> raises this exception, as for a time-out.
/// </remarks>
public sealed class EpRankMaskedException : EpException
{
    /// <summary>Creates the exception for <paramref name="rank"/>, masked by <paramref name="maskedBy"/>.</summary>
    public EpRankMaskedException(int rank, int maskedBy)
        : base($"Rank {rank} was masked out of the group by rank {maskedBy} (EpGroup.SetActiveRanks), so it writes nothing to its peers any more: " +
            "this call wrote nothing to a peer. A masked rank cannot rejoin the group; dispose it, and create a new group to bring the rank back.")
    {
        Rank = rank;
        MaskedBy = maskedBy;
    }

    /// <summary>The rank that was masked (the one whose call failed).</summary>
    public int Rank { get; }

    /// <summary>A survivor that masked it (the first one whose mark the rank found).</summary>
    public int MaskedBy { get; }
}
