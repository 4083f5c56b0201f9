namespace NcclEp.Backend;

/// <summary>
/// Which halves of a dispatch or combine one backend call runs: both (the plain calls), the send half
/// (<see cref="EpGroup.DispatchSend(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>, <see cref="EpGroup.CombineSend"/>) or the receive half
/// (<see cref="EpGroup.Complete"/>). The values are the kernels' <c>STEP_SEND</c> and <c>STEP_RECEIVE</c> bits; 0 is both.
/// </summary>
internal enum EpHalf
{
    /// <summary>Send and receive in one call (one kernel with LSA peers only).</summary>
    Both = 0,

    /// <summary>Presence, counts, rows and their flags to every peer; no wait. The operation's sequence number does not advance.</summary>
    Send = 1,

    /// <summary>The waits, the layout (dispatch route) or the reduce (combine route); the operation ends, its sequence number advances.</summary>
    Receive = 2,
}
