using System;

namespace NcclEp.Distributed;

/// <summary>
/// A rendezvous of separate processes failed: a rank did not arrive in time, a connection closed, a peer
/// reported a different world size, or another rank aborted. The message names this rank, the address and
/// the ranks involved.
/// </summary>
public sealed class EpRendezvousException : EpException
{
    /// <summary>Creates the exception with a message.</summary>
    public EpRendezvousException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public EpRendezvousException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception with no message.</summary>
    public EpRendezvousException() { }

    /// <summary>Creates the exception with the facts of the failure.</summary>
    /// <param name="rank">The rank that raised it.</param>
    /// <param name="address">The rendezvous address (<see cref="EpRendezvous.Address"/>).</param>
    /// <param name="message">What went wrong.</param>
    /// <param name="timedOut">Whether a bounded wait ran out.</param>
    /// <param name="inner">The cause, if any.</param>
    public EpRendezvousException(int rank, string address, string message, bool timedOut, Exception? inner = null)
        : base(message, inner!)
    {
        Rank = rank;
        Address = address;
        TimedOut = timedOut;
    }

    /// <summary>The rank that raised it (-1 when not known).</summary>
    public int Rank { get; } = -1;

    /// <summary>The rendezvous address, e.g. <c>tcp:127.0.0.1:29500</c> or <c>file:/shared/job/id</c>.</summary>
    public string Address { get; } = string.Empty;

    /// <summary>Whether a bounded wait ran out (rather than a connection closing or a peer aborting).</summary>
    public bool TimedOut { get; }
}
