using System;

namespace NcclEp;

/// <summary>
/// A rank's exchange with its network peers (NCCL send/recv, <c>docs/internode.md</c>) did not complete within the
/// group's time-out, so the library aborted the rank's NCCL communicator (ncclCommAbort) to end the wait. NCCL does
/// not say which network peer was silent. The group cannot be used again: dispose it and create a new one.
/// </summary>
public sealed class EpGroupAbortedException : EpException
{
    /// <summary>Creates the exception for <paramref name="rank"/>, whose last exchange was for <paramref name="phase"/>.</summary>
    public EpGroupAbortedException(int rank, EpPhase phase, TimeSpan timeout)
        : base($"Rank {rank}: the NCCL send/recv with its network peers ({PhaseName(phase)}) did not complete within {timeout.TotalMilliseconds:0} ms, " +
            "so its NCCL communicator was aborted (ncclCommAbort); a network peer is slow, stopped or failed. This group cannot be used again: dispose it and create a new one.")
    {
        Rank = rank;
        Phase = phase;
    }

    /// <summary>The rank whose exchange was stuck.</summary>
    public int Rank { get; }

    /// <summary>The route of the last exchange the rank enqueued (dispatch or combine receive).</summary>
    public EpPhase Phase { get; }

    private static string PhaseName(EpPhase phase) => phase switch
    {
        EpPhase.DispatchReceive => "dispatch",
        EpPhase.CombineReceive => "combine",
        _ => phase.ToString(),
    };
}
