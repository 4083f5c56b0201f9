using System;
using System.Diagnostics.CodeAnalysis;
using NcclEp.Backend;

namespace NcclEp;

/// <summary>The forward dispatch that takes the routing with the tokens: a decode step's routing and dispatch in one call.</summary>
public sealed partial class EpGroup
{
    /// <summary>
    /// Routes and dispatches in one call (data path): replaces <paramref name="handle"/>'s routing with
    /// <paramref name="topkIds"/> and <paramref name="topkWeights"/> exactly as <see cref="EpHandle.Update"/> would, then
    /// sends every token to the ranks holding its top-k experts, as the forward
    /// <see cref="Dispatch(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>. Results, the handle's state and
    /// errors are those of <c>Update</c> followed by <c>Dispatch</c>, bit for bit.
    /// </summary>
    /// <remarks>
    /// <para>
    /// <b>Cuda:</b> up to 128 tokens per call (one routing tile, in either mode: every low-latency step) this is one
    /// kernel launch instead of two: the dispatch kernel's first block routes, and the other sending blocks start once it
    /// is done, while the receiving blocks already wait for the peers. Above 128 tokens the routing's own launches come first. A bad expert id is
    /// recorded by the kernel and raised by a later call, as for <c>Update</c>. <b>Host:</b> <c>Update</c>, then
    /// <c>Dispatch</c>; a bad id raises here, before anything is written or counted.
    /// </para>
    /// <para>
    /// Allocates nothing and captures into a graph like any data-path call (<c>EpGraph.Capture</c>). The backward pass
    /// and <see cref="Combine"/> then use the handle as after <c>Update</c> and <c>Dispatch</c>.
    /// </para>
    /// </remarks>
    /// <param name="handle">This group's handle, with no send in flight; its earlier routing, if any, is replaced.</param>
    /// <param name="topkIds"><c>[tokens, topK]</c> int32, tokens ≤ MaxTokensPerRank: each token's experts, -1 for none
    /// (as for <see cref="EpHandle.Update"/>). Must not overlap <paramref name="received"/>.</param>
    /// <param name="topkWeights"><c>[tokens, topK]</c> float32. Must not overlap <paramref name="received"/>.</param>
    /// <param name="tokens"><c>[tokens, hidden]</c> rows of this rank (input), as many as <paramref name="topkIds"/> has.</param>
    /// <param name="received">Output: rows in the group's layout, as for the plain dispatch (<see cref="EpLayout"/>,
    /// <see cref="EpConfig.ReceiveRows"/>; rank-major: or <see cref="WindowReceiveRows"/>).</param>
    /// <param name="stream">Stream to order the work on (Cuda).</param>
    /// <exception cref="ArgumentException">A tensor's element type, shape, stride or alignment does not match (named), or
    /// the group has an FP8 <see cref="EpConfig.DispatchQuantization"/> (names <c>receivedScales</c>: use the overload
    /// with scales); nothing is launched. Host: an expert id out of range or repeated in a token (names
    /// <paramref name="topkIds"/>).</exception>
    /// <exception cref="InvalidOperationException">A dispatch-route send is in flight, or the handle has a send in flight.</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = ApiDesignJustifications.OverloadsDifferInRequiredParameters)]
    public void Dispatch(EpHandle handle, in EpTensor topkIds, in EpTensor topkWeights, in EpTensor tokens, in EpTensor received, EpStream stream = default)
    {
        using CallFront.Scope call = _front.Enter(RankBackend, sending: false);
        EpLaunchStubs.DispatchRouted(this, handle, in topkIds, in topkWeights, in tokens, in received, stream);
    }

    /// <summary>
    /// Routes and dispatches in one call with an FP8 <see cref="EpConfig.DispatchQuantization"/> (data path): the routing
    /// as <see cref="EpHandle.Update"/>, then the FP8 dispatch of
    /// <see cref="Dispatch(EpHandle, in EpTensor, in EpTensor, in EpTensor, EpStream)"/>; one launch on Cuda up to 128
    /// tokens, as <see cref="Dispatch(EpHandle, in EpTensor, in EpTensor, in EpTensor, in EpTensor, EpStream)"/>.
    /// </summary>
    /// <param name="handle">This group's handle, with no send in flight; its earlier routing, if any, is replaced.</param>
    /// <param name="topkIds"><c>[tokens, topK]</c> int32 (as for <see cref="EpHandle.Update"/>); not overlapping the outputs.</param>
    /// <param name="topkWeights"><c>[tokens, topK]</c> float32; not overlapping the outputs.</param>
    /// <param name="tokens"><c>[tokens, hidden]</c> rows of this rank in <see cref="EpConfig.DataType"/> (input).</param>
    /// <param name="received">Output: <see cref="EpDataType.Float8E4M3"/> rows in the group's layout.</param>
    /// <param name="receivedScales">Output: the scales beside them (as for the FP8 dispatch; docs/fp8.md).</param>
    /// <param name="stream">Stream to order the work on (Cuda).</param>
    /// <exception cref="ArgumentException">The group has no FP8 recipe (names <paramref name="receivedScales"/>), or a
    /// tensor does not match (named); nothing is launched. Host: a bad expert id (names <paramref name="topkIds"/>).</exception>
    /// <exception cref="InvalidOperationException">A dispatch-route send is in flight, or the handle has a send in flight.</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = ApiDesignJustifications.OverloadsDifferInRequiredParameters)]
    public void Dispatch(EpHandle handle, in EpTensor topkIds, in EpTensor topkWeights, in EpTensor tokens, in EpTensor received, in EpTensor receivedScales, EpStream stream = default)
    {
        using CallFront.Scope call = _front.Enter(RankBackend, sending: false);
        EpLaunchStubs.DispatchQuantizedRouted(this, handle, in topkIds, in topkWeights, in tokens, in received, in receivedScales, stream);
    }

    /// <summary>
    /// The send half of <see cref="Dispatch(EpHandle, in EpTensor, in EpTensor, in EpTensor, in EpTensor, EpStream)"/>
    /// (data path): routes, then sends this rank's counts, messages and flags, and returns; <see cref="Complete"/> receives.
    /// On Cuda up to 128 tokens the routing and the send are one launch. Same arguments, checks and results as that call;
    /// the rules of <see cref="DispatchSend(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/> apply (one operation
    /// per route in flight; the operation owns <paramref name="tokens"/> and <paramref name="received"/> until the
    /// complete's work has run).
    /// </summary>
    /// <param name="handle">This group's handle, with no send in flight; its earlier routing, if any, is replaced.</param>
    /// <param name="topkIds"><c>[tokens, topK]</c> int32 (as for <see cref="EpHandle.Update"/>); not overlapping <paramref name="received"/>.</param>
    /// <param name="topkWeights"><c>[tokens, topK]</c> float32; not overlapping <paramref name="received"/>.</param>
    /// <param name="tokens"><c>[tokens, hidden]</c> rows of this rank (input).</param>
    /// <param name="received">Output: rows in the group's layout.</param>
    /// <param name="stream">Stream to order the work on (Cuda).</param>
    /// <exception cref="InvalidOperationException">An operation of the same route is in flight, or the handle has a send in flight.</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = ApiDesignJustifications.OverloadsDifferInRequiredParameters)]
    public void DispatchSend(EpHandle handle, in EpTensor topkIds, in EpTensor topkWeights, in EpTensor tokens, in EpTensor received, EpStream stream = default)
    {
        using CallFront.Scope call = _front.Enter(RankBackend, sending: true);
        EpLaunchStubs.DispatchRouted(this, handle, in topkIds, in topkWeights, in tokens, in received, stream);
    }

    /// <summary>
    /// The send half of the routed FP8 dispatch
    /// (<see cref="Dispatch(EpHandle, in EpTensor, in EpTensor, in EpTensor, in EpTensor, in EpTensor, EpStream)"/>, data
    /// path): routes, quantizes and sends, and returns; <see cref="Complete"/> receives. The rules of
    /// <see cref="DispatchSend(EpHandle, in EpTensor, in EpTensor, in EpTensor, EpStream)"/> apply.
    /// </summary>
    /// <param name="handle">This group's handle, with no send in flight; its earlier routing, if any, is replaced.</param>
    /// <param name="topkIds"><c>[tokens, topK]</c> int32; not overlapping the outputs.</param>
    /// <param name="topkWeights"><c>[tokens, topK]</c> float32; not overlapping the outputs.</param>
    /// <param name="tokens"><c>[tokens, hidden]</c> rows of this rank (input).</param>
    /// <param name="received">Output: <see cref="EpDataType.Float8E4M3"/> rows in the group's layout.</param>
    /// <param name="receivedScales">Output: the scales beside them.</param>
    /// <param name="stream">Stream to order the work on (Cuda).</param>
    /// <exception cref="InvalidOperationException">An operation of the same route is in flight, or the handle has a send in flight.</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = ApiDesignJustifications.OverloadsDifferInRequiredParameters)]
    public void DispatchSend(EpHandle handle, in EpTensor topkIds, in EpTensor topkWeights, in EpTensor tokens, in EpTensor received, in EpTensor receivedScales, EpStream stream = default)
    {
        using CallFront.Scope call = _front.Enter(RankBackend, sending: true);
        EpLaunchStubs.DispatchQuantizedRouted(this, handle, in topkIds, in topkWeights, in tokens, in received, in receivedScales, stream);
    }
}
