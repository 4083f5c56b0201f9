using System;
namespace NcclEp;

/// <summary>
/// A bounded wait on a peer ran out: the peer named here did not signal within the group's time-out.
/// The rank can mask the peer (<see cref="EpGroup.SetActiveRanks"/>) and go on.
/// </summary>
public sealed class EpTimeoutException : EpException
{
    /// <summary>Creates the exception with every fact the wait recorded.</summary>
    public EpTimeoutException(int rank, int peer, EpPhase phase, uint sequence, TimeSpan timeout)
        : base($"Rank {rank} waited {timeout.TotalMilliseconds:0} ms for peer {peer} in phase {phase} (operation {sequence}) and gave up; the peer is slow, stopped or failed. Mask it with EpGroup.SetActiveRanks to go on without it.")
    {
        Rank = rank;
        Peer = peer;
        Phase = phase;
        Sequence = sequence;
    }

    /// <summary>The rank that waited.</summary>
    public int Rank { get; }

    /// <summary>The peer that did not signal.</summary>
    public int Peer { get; }

    /// <summary>Where the wait was.</summary>
    public EpPhase Phase { get; }

    /// <summary>Sequence number of the operation (per kind: dispatches and combines count separately).</summary>
    public uint Sequence { get; }
}
