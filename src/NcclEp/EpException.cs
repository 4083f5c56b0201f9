using System;
namespace NcclEp;

/// <summary>Base of the errors that NcclEp raises for failures outside the caller's arguments.</summary>
public class EpException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public EpException(string message) : base(message) { }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public EpException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates an exception with no message.</summary>
    public EpException() { }
}

/// <summary>A peer reported itself failed (it stopped taking part); raised instead of waiting out the time-out.</summary>
public sealed class EpRankFailedException : EpException
{
    /// <summary>Creates the exception.</summary>
    public EpRankFailedException(int rank, int peer, EpPhase phase, uint sequence)
        : base($"Rank {rank}: peer {peer} has failed (phase {phase}, operation {sequence}). Mask it with EpGroup.SetActiveRanks to go on without it.")
    {
        Rank = rank;
        Peer = peer;
        Phase = phase;
        Sequence = sequence;
    }

    /// <summary>The rank that noticed.</summary>
    public int Rank { get; }

    /// <summary>The failed peer.</summary>
    public int Peer { get; }

    /// <summary>Where it was noticed.</summary>
    public EpPhase Phase { get; }

    /// <summary>Sequence number of the operation.</summary>
    public uint Sequence { get; }
}
