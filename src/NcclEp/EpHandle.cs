using System;
using NcclEp.Backend;

namespace NcclEp;

/// <summary>
/// Routing state for one batch: where each token goes (filled by <see cref="Update"/>, or by the dispatch that takes the
/// routing itself, <see cref="EpGroup.Dispatch(EpHandle, in EpTensor, in EpTensor, in EpTensor, in EpTensor, EpStream)"/>) and where each
/// received row came from (filled by <see cref="EpGroup.Dispatch(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>). All of it lives in device memory: memory the
/// handle allocated at creation (<see cref="EpGroup.CreateHandle()"/>), or the caller's own
/// (<see cref="EpGroup.CreateHandle(EpBuffer, long)"/>, <see cref="EpGroup.CreateHandle(nint, long)"/>). The
/// descriptors below point into it and are valid until disposal.
/// </summary>
public sealed class EpHandle : IDisposable
{
    private readonly EpBuffer _state;
    private readonly EpBuffer? _callerBuffer;
    private bool _disposed;

    /// <param name="group">The rank's group.</param>
    /// <param name="state"><see cref="HandleLayout.TotalBytes"/> bytes of device memory: the handle's own, or a view of the caller's.</param>
    /// <param name="ownsState">Whether <paramref name="state"/> is the handle's own (freed at disposal).</param>
    /// <param name="callerBuffer">The caller's buffer the state lies in, if it came as one: a call after it was disposed is refused.</param>
    internal EpHandle(EpGroup group, EpBuffer state, bool ownsState, EpBuffer? callerBuffer)
    {
        Group = group;
        Layout = new HandleLayout(group.Config, group.WorldSize);
        _state = state;
        _callerBuffer = callerBuffer;
        OwnsMemory = ownsState;
        _state.Fill(0);
    }

    /// <summary>The group the handle belongs to.</summary>
    public EpGroup Group { get; }

    /// <summary>
    /// Whether the handle allocated its state itself (<see cref="EpGroup.CreateHandle()"/>) and frees it at disposal;
    /// false for a handle in the caller's memory, which disposal leaves alone.
    /// </summary>
    public bool OwnsMemory { get; }

    /// <summary>Device address of the handle's state (<see cref="EpGroup.HandleBytes"/> bytes): its own memory or the caller's.</summary>
    public nint MemoryPointer => _state.Pointer;

    /// <summary>Tokens of the last routing (<see cref="Update"/> or a dispatch that took the routing itself), from the shape of its arguments.</summary>
    public int NumTokens { get; private set; }

    /// <summary>Whether <see cref="Dispose"/> ran.</summary>
    public bool IsDisposed => _disposed;

    internal HandleLayout Layout { get; }

    internal nint State
    {
        get
        {
            if (_disposed) ThrowHelper.Disposed(nameof(EpHandle));
            if (_callerBuffer is { IsDisposed: true }) ThrowCallerMemoryDisposed();
            return _state.Pointer;
        }
    }

    internal bool HasRouting { get; private set; }

    /// <summary>
    /// Whether a <see cref="EpGroup.DispatchSend(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/> or <see cref="EpGroup.CombineSend"/> on this handle waits for its
    /// <see cref="EpGroup.Complete"/>; until then every other call on the handle is refused.
    /// </summary>
    public bool HasSendInFlight => InFlightRoute is not null;

    /// <summary>The route of the send in flight on this handle, or null.</summary>
    internal EpRoute? InFlightRoute { get; set; }

    internal bool HasDispatched { get; private set; }

    /// <summary>
    /// Takes the routing of a new batch (data path: runs on the device, no host sync). Expert id -1 means
    /// "no expert"; ids must otherwise be distinct per token and in <c>[0, NumExperts)</c>. A forward dispatch can take the
    /// routing itself instead (<see cref="EpGroup.Dispatch(EpHandle, in EpTensor, in EpTensor, in EpTensor, in EpTensor, EpStream)"/>:
    /// the same result, one launch on Cuda up to 128 tokens).
    /// </summary>
    /// <param name="topkIds"><c>[tokens, topK]</c> int32, tokens ≤ MaxTokensPerRank.</param>
    /// <param name="topkWeights"><c>[tokens, topK]</c> float32.</param>
    /// <param name="stream">Stream to order the work on (Cuda).</param>
    public void Update(in EpTensor topkIds, in EpTensor topkWeights, EpStream stream = default) =>
        EpLaunchStubs.Update(Group, this, in topkIds, in topkWeights, stream);

    internal void MarkRouted(int numTokens)
    {
        NumTokens = numTokens;
        HasRouting = true;
        HasDispatched = false;
    }

    internal void MarkDispatched() => HasDispatched = true;

    /// <summary>
    /// <c>[worldSize]</c> int32: tokens received from each source rank by the last dispatch (each token of that rank
    /// with at least one expert on this rank counts once; 0 for a masked rank). In the <see cref="EpLayout.Flat"/> and
    /// <see cref="EpLayout.RankMajor"/> layouts that is also the rows from that rank; in <see cref="EpLayout.ExpertMajor"/>
    /// a token fills one row per top-k slot whose expert is here, so rows are counted per expert in
    /// <see cref="ReceivedExpertCounts"/>.
    /// </summary>
    public EpTensor ReceivedRankCounts => Int32Tensor(Layout.RecvRankCounts, Group.WorldSize);

    /// <summary><c>[localExperts]</c> int32: rows received for each local expert by the last dispatch (one per (token, top-k slot) whose expert it is).</summary>
    public EpTensor ReceivedExpertCounts => Int32Tensor(Layout.RecvExpertCounts, Group.LocalExperts);

    /// <summary>
    /// <c>[localExperts + 1]</c> int32: first row of each local expert's segment in the high-throughput
    /// expert-major layout (segments padded to the alignment); the last entry is the rows in use.
    /// For the low-latency expert-major layout entry e is <c>e · worldSize · maxTokensPerRank</c>.
    /// </summary>
    public EpTensor ReceivedExpertOffsets => Int32Tensor(Layout.RecvExpertOffsets, Group.LocalExperts + 1);

    /// <summary><c>[1]</c> int32: rows of the dispatch output in use (with padding for padded layouts).</summary>
    public EpTensor ReceivedTotal => Int32Tensor(Layout.RecvTotal, 1);

    /// <summary><c>[receiveRows, 3]</c> int32 (<see cref="EpSourceInfo"/> per row): where each received row came from.</summary>
    public EpTensor ReceivedSourceInfo =>
        EpTensor.Create2D(State + (nint)Layout.RecvSourceInfo, EpDataType.Int32, Layout.ReceiveRows, 3);

    /// <summary><c>[receiveRows, topK]</c> int32: top-k ids beside each row (per-rank layouts; empty for expert-major).</summary>
    public EpTensor ReceivedTopKIds =>
        EpTensor.Create2D(State + (nint)Layout.RecvTopKIds, EpDataType.Int32, PerRankRows, Group.Config.TopK);

    /// <summary><c>[receiveRows, topK]</c> float32: top-k weights beside each row (per-rank layouts; empty for expert-major).</summary>
    public EpTensor ReceivedTopKWeights =>
        EpTensor.Create2D(State + (nint)Layout.RecvTopKWeights, EpDataType.Float32, PerRankRows, Group.Config.TopK);

    private long PerRankRows => Group.Config.Layout == EpLayout.ExpertMajor ? 0 : Layout.ReceiveRows;

    private EpTensor Int32Tensor(long offset, long length) =>
        EpTensor.Create1D(State + (nint)offset, EpDataType.Int32, length);

    /// <summary>Frees the routing state if the handle allocated it; a handle in the caller's memory leaves that memory alone.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (OwnsMemory) _state.Dispose();
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn, System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void ThrowCallerMemoryDisposed() =>
        throw new ObjectDisposedException(nameof(EpBuffer), "The caller's buffer that holds this handle's state was disposed before the handle; the caller's memory must outlive the handle (dispose the handle first).");
}
