using System;
using System.Diagnostics.CodeAnalysis;
using NcclEp.Backend;

namespace NcclEp;

/// <summary>Dispatch and combine split into a send half and a complete half, so the caller's work runs in between.</summary>
public sealed partial class EpGroup
{
    /// <summary>
    /// The send half of <see cref="Dispatch(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/> (data path): this rank's counts, messages and their flags go to every live
    /// peer, and the call returns once they are issued. Nothing waits and nothing holds the GPU afterwards (Cuda: one
    /// kernel that stores and ends), so the caller's own work on the stream (another micro-batch's attention) runs while
    /// the rows travel; <see cref="Complete"/> then receives and lays them out. Same arguments, checks and results as
    /// <see cref="Dispatch(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// <b>In flight, until <see cref="Complete"/>:</b> one operation per route and rank. The dispatch route
    /// (<see cref="Dispatch(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>, <see cref="Combine"/> with <see cref="EpPass.Backward"/>) and the combine route
    /// (<see cref="Combine"/>, <see cref="Dispatch(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/> with <see cref="EpPass.Backward"/>) each have their own window
    /// halves, flags and sequence numbers, so a dispatch of one micro-batch and a combine of another may be in flight
    /// together (two-batch overlap). A second operation on a route whose send is in flight, a send or a plain call, on any
    /// handle, is refused with <see cref="InvalidOperationException"/> before anything is launched: the window holds two
    /// halves, and with two operations of a route in flight a peer could write the half this rank has not read yet
    /// (docs/kernels.md, "Send and complete"). So is any call on <paramref name="handle"/> other than
    /// <see cref="Complete"/>.
    /// </para>
    /// <para>
    /// <b>Aliasing:</b> the operation owns <paramref name="tokens"/> and <paramref name="received"/> until
    /// <see cref="Complete"/>'s work has run: do not write the tokens (a rank's rows for itself are read from them by the
    /// complete half) and do not read or write <paramref name="received"/> before then.
    /// </para>
    /// <para>
    /// <b>Order:</b> every rank makes the same sends, completes and plain calls in the same order. A complete on another
    /// stream than its send must be ordered after it by the caller (an event). Network peers (outside the LSA team) are
    /// exchanged in the complete half: their rows do not overlap the caller's work. Inside <c>EpGraph.Capture</c> every
    /// send must be completed in the same step.
    /// </para>
    /// </remarks>
    /// <param name="handle">Routing from <see cref="EpHandle.Update"/> on this group, with no send in flight.</param>
    /// <param name="tokens"><c>[tokens, hidden]</c> rows of this rank: input (forward) or output (backward).</param>
    /// <param name="received">Rows in the group's layout: output (forward) or input (backward).</param>
    /// <param name="stream">Stream to order the work on (Cuda).</param>
    /// <param name="pass">Forward or backward.</param>
    /// <exception cref="InvalidOperationException">An operation of the same route is in flight, or the handle has a send in flight.</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = ApiDesignJustifications.OverloadsDifferInRequiredParameters)]
    public void DispatchSend(EpHandle handle, in EpTensor tokens, in EpTensor received, EpStream stream = default, EpPass pass = EpPass.Forward)
    {
        using CallFront.Scope call = _front.Enter(RankBackend, sending: true);
        EpLaunchStubs.Dispatch(this, handle, in tokens, in received, stream, pass);
    }

    /// <summary>
    /// The send half of the FP8 dispatch (<see cref="Dispatch(EpHandle, in EpTensor, in EpTensor, in EpTensor, EpStream)"/>,
    /// data path): every row is quantized into its message and sent with its flags, and the call returns once they are
    /// issued; <see cref="Complete"/> then receives and lays out the FP8 rows and their scales. Same arguments, checks and
    /// results as that call; the rules of <see cref="DispatchSend(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/> apply, and the operation owns
    /// <paramref name="receivedScales"/> too until the complete's work has run.
    /// </summary>
    /// <param name="handle">Routing from <see cref="EpHandle.Update"/> on this group, with no send in flight.</param>
    /// <param name="tokens"><c>[tokens, hidden]</c> rows of this rank (input).</param>
    /// <param name="received">Output: <see cref="EpDataType.Float8E4M3"/> rows in the group's layout (not the window's rows).</param>
    /// <param name="receivedScales">Output: the scales beside them (docs/fp8.md).</param>
    /// <param name="stream">Stream to order the work on (Cuda).</param>
    /// <exception cref="InvalidOperationException">An operation of the same route is in flight, or the handle has a send in flight.</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = ApiDesignJustifications.OverloadsDifferInRequiredParameters)]
    public void DispatchSend(EpHandle handle, in EpTensor tokens, in EpTensor received, in EpTensor receivedScales, EpStream stream = default)
    {
        using CallFront.Scope call = _front.Enter(RankBackend, sending: true);
        EpLaunchStubs.DispatchQuantized(this, handle, in tokens, in received, in receivedScales, stream);
    }

    /// <summary>
    /// The send half of <see cref="Combine"/> (data path): this rank's presence and the expert outputs of every row it
    /// received go home with their flags, and the call returns once they are issued, holding nothing;
    /// <see cref="Complete"/> then waits for this rank's own tokens' rows and reduces them. Same arguments, checks and
    /// results as <see cref="Combine"/>; the rules of <see cref="DispatchSend(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/> apply (one operation per route in flight).
    /// </summary>
    /// <remarks>
    /// <b>Aliasing:</b> the operation owns <paramref name="expertOutputs"/> and <paramref name="combined"/> until
    /// <see cref="Complete"/>'s work has run: do not write the expert outputs (a rank's own terms are read from them by
    /// the complete half) and do not read or write <paramref name="combined"/> before then.
    /// </remarks>
    /// <param name="handle">The handle the matching dispatch used, with no send in flight.</param>
    /// <param name="expertOutputs">Rows in the group's layout: input (forward) or output (backward).</param>
    /// <param name="combined"><c>[tokens, hidden]</c>: output (forward) or input (backward).</param>
    /// <param name="stream">Stream to order the work on (Cuda).</param>
    /// <param name="pass">Forward or backward.</param>
    /// <exception cref="InvalidOperationException">An operation of the same route is in flight, or the handle has a send in flight.</exception>
    public void CombineSend(EpHandle handle, in EpTensor expertOutputs, in EpTensor combined, EpStream stream = default, EpPass pass = EpPass.Forward)
    {
        using CallFront.Scope call = _front.Enter(RankBackend, sending: true);
        EpLaunchStubs.Combine(this, handle, in expertOutputs, in combined, stream, pass);
    }

    /// <summary>
    /// The complete half of the <see cref="DispatchSend(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/> or <see cref="CombineSend"/> in flight on
    /// <paramref name="handle"/> (data path): waits for every live peer's part of the operation, then lays the rows out
    /// (dispatch route) or reduces them (combine route), with the tensors the send was given. Afterwards the handle and
    /// the route are free again. Allocates nothing; Cuda: enqueued on <paramref name="stream"/>, no host sync.
    /// </summary>
    /// <param name="handle">The handle of the send.</param>
    /// <param name="stream">Stream to order the work on (Cuda); ordered after the send by the caller if it is another stream.</param>
    /// <exception cref="InvalidOperationException">The handle has no send in flight (none was issued, it was completed,
    /// or <see cref="SetActiveRanks"/> abandoned it).</exception>
    /// <exception cref="EpTimeoutException">A peer did not send its part within the time-out (Host: raised here; Cuda:
    /// by a later call). The operation is over either way: follow the recovery rule (docs/failure-handling.md).</exception>
    public void Complete(EpHandle handle, EpStream stream = default)
    {
        if (handle is null) ThrowHelper.NullArgument(nameof(handle));
        IEpRankBackend backend = RankBackend;
        if (handle.IsDisposed) ThrowHelper.Disposed(nameof(EpHandle));
        if (!ReferenceEquals(handle.Group, this))
            ThrowHelper.Argument(nameof(handle), "The handle belongs to another group (or another rank).");
        if (handle.InFlightRoute is not EpRoute route)
        {
            ThrowHelper.InvalidOperation(
                "EpGroup.Complete: the handle has no send in flight. Complete follows DispatchSend or CombineSend on the same handle, once; SetActiveRanks abandons a send in flight.");
            return;
        }

        // The operation is over once its complete half is issued, or abandoned if that throws: the route is free again.
        ref InFlightSend send = ref _inFlight[(int)route];
        EpLaunchArgs args = send.Args;
        EpOperation op = send.Op;
        args.Half = EpHalf.Receive;
        args.Stream = stream.Handle;
        send = default;
        handle.InFlightRoute = null;
        if (op == EpOperation.Dispatch) backend.Dispatch(handle, in args);
        else backend.Combine(handle, in args);
    }
}
