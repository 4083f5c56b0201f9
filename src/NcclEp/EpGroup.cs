using System;
using System.Diagnostics.CodeAnalysis;
using NcclEp.Backend;
using NcclEp.Host;

namespace NcclEp;

/// <summary>
/// One rank's member of an expert-parallel group: the communicator, the symmetric buffers and the
/// compiled kernels for one <see cref="EpConfig"/> (control path). Each rank's group is used from one
/// thread at a time; the data-path calls (<see cref="Dispatch(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>, <see cref="Combine"/>,
/// <see cref="EpHandle.Update"/>) allocate nothing and never wait on the host for the device.
/// </summary>
public sealed partial class EpGroup : IDisposable
{
    private readonly IEpRankBackend _backend;
    private IEpRankBackend? _captureSink;
    private bool _disposed;
    private readonly System.Collections.Generic.List<IDisposable> _dependents = new();
    private readonly bool[] _activeRanks;
    private readonly CallFront _front;
    private readonly WindowLayout _windowLayout;

    internal EpGroup(in EpConfig config, int rank, int worldSize, IEpRankBackend backend, EpGroupOptions options)
    {
        Config = config;
        Rank = rank;
        WorldSize = worldSize;
        Options = options;
        _backend = backend;
        Shapes = new EpShapes(config, worldSize);
        _activeRanks = new bool[worldSize];
        _activeRanks.AsSpan().Fill(true);
        _front = new CallFront(this);
        _windowLayout = new WindowLayout(config, worldSize);
        WindowBase = WindowBaseOf(backend);
    }

    /// <summary>The configuration the group was created for.</summary>
    public EpConfig Config { get; }

    /// <summary>This rank, 0..WorldSize-1.</summary>
    public int Rank { get; }

    /// <summary>Ranks in the group.</summary>
    public int WorldSize { get; }

    /// <summary>Experts held by each rank.</summary>
    public int LocalExperts => Shapes.LocalExperts;

    /// <summary>Which backend runs this group.</summary>
    public EpBackendKind Backend => _backend.Kind;

    /// <summary>Settings the group was created with.</summary>
    public EpGroupOptions Options { get; }

    /// <summary>Whether <see cref="Dispose"/> ran.</summary>
    public bool IsDisposed => _disposed;

    internal EpShapes Shapes { get; }

    internal IEpRankBackend RankBackend
    {
        get
        {
            if (_disposed) ThrowHelper.Disposed(nameof(EpGroup));
            if (_front.IsActive) return _front;
            return _captureSink ?? _backend;
        }
    }

    /// <summary>
    /// Set by NcclEp.Graphs while it captures a step on this rank: every call goes to this backend instead, which
    /// records the data-path calls and refuses the control-path ones a graph cannot hold. Null otherwise.
    /// </summary>
    internal IEpRankBackend? CaptureSink
    {
        get => _captureSink;
        set => _captureSink = value;
    }

    /// <summary>
    /// Creates a Host-backend group of <paramref name="worldSize"/> ranks in this process; element r is
    /// rank r, to be driven from its own thread (ranks wait on each other inside each call).
    /// </summary>
    /// <exception cref="ArgumentException">A field of <paramref name="config"/> or <paramref name="options"/> is not valid (named).</exception>
    /// <exception cref="EpMemoryException">This machine has less memory available than <see cref="EpConfig.EstimateMemory"/>
    /// says every rank needs together (checked before anything is allocated; see <see cref="EpGroupOptions.CheckMemory"/>).</exception>
    public static EpGroup[] CreateHost(EpConfig config, int worldSize, EpGroupOptions? options = null)
    {
        config.Validate(worldSize);
        options ??= EpGroupOptions.Default;
        options.Validate(nameof(options));
        if (options.CheckMemory) MemoryGuard.ThrowIfHostCannotHold(config.EstimateMemory(worldSize));
        var fabric = new HostFabric(config, worldSize, options.PeerTimeout);
        var groups = new EpGroup[worldSize];
        for (int r = 0; r < worldSize; r++)
            groups[r] = new EpGroup(config, r, worldSize, new HostRankBackend(fabric, r), options);
        return groups;
    }

    /// <summary>Allocates routing state for batches of this group (control path); the handle frees it at disposal.</summary>
    public EpHandle CreateHandle() => new(this, RankBackend.Allocate(HandleBytes), ownsState: true, callerBuffer: null);

    /// <summary>Allocates device memory (native memory on the Host backend) for the caller's tensors.</summary>
    public EpBuffer AllocateBuffer(long bytes)
    {
        if (bytes <= 0) ThrowHelper.OutOfRange(nameof(bytes), bytes, "must be positive");
        return RankBackend.Allocate(bytes);
    }

    /// <summary>
    /// Sends every token to the ranks holding its top-k experts (forward) or brings the gradient of the
    /// received rows home (backward; see <see cref="EpPass"/>). <see cref="DispatchSend(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/> and <see cref="Complete"/>
    /// split it in two, for work in between.
    /// </summary>
    /// <param name="handle">Routing from <see cref="EpHandle.Update"/> on this group.</param>
    /// <param name="tokens"><c>[tokens, hidden]</c> rows of this rank: input (forward) or output (backward).</param>
    /// <param name="received">Rows in the group's layout: output (forward) or input (backward).
    /// Shapes: see <see cref="EpLayout"/> and <see cref="EpConfig.ReceiveRows"/>. Rank-major: or the window's own rows
    /// (<see cref="WindowReceiveRows"/>), which are then not copied out (forward) or read in place (backward).</param>
    /// <param name="stream">Stream to order the work on (Cuda).</param>
    /// <param name="pass">Forward or backward.</param>
    /// <exception cref="ArgumentException">The group has an FP8 <see cref="EpConfig.DispatchQuantization"/> and
    /// <paramref name="pass"/> is forward: that dispatch needs the scales (the overload with <c>receivedScales</c>; its
    /// backward pass is this one, unquantized).</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = ApiDesignJustifications.OverloadsDifferInRequiredParameters)]
    public void Dispatch(EpHandle handle, in EpTensor tokens, in EpTensor received, EpStream stream = default, EpPass pass = EpPass.Forward)
    {
        using CallFront.Scope call = _front.Enter(RankBackend, sending: false);
        EpLaunchStubs.Dispatch(this, handle, in tokens, in received, stream, pass);
    }

    /// <summary>
    /// The forward dispatch of a group with an FP8 <see cref="EpConfig.DispatchQuantization"/>: every rank casts each of its
    /// token rows to FP8 E4M3 with one scale per 128 channels (docs/fp8.md) and sends it to the ranks holding its top-k
    /// experts, which receive FP8 rows in the group's layout and the scales beside them.
    /// </summary>
    /// <param name="handle">Routing from <see cref="EpHandle.Update"/> on this group.</param>
    /// <param name="tokens"><c>[tokens, hidden]</c> rows of this rank in <see cref="EpConfig.DataType"/> (input).</param>
    /// <param name="received">Output: <see cref="EpDataType.Float8E4M3"/> rows with the shape of <paramref name="handle"/>'s
    /// layout (as for the unquantized dispatch: <see cref="EpLayout"/>, <see cref="EpConfig.ReceiveRows"/>).</param>
    /// <param name="receivedScales">Output: the scales of every received row, <see cref="EpConfig.ScalesDataType"/>, with
    /// the rows the fastest (contiguous) dimension and one column per <see cref="EpConfig.ScaleColumns"/> — each expert's
    /// (or source rank's) block column-major, as a grouped GEMM reads it:
    /// <c>[localExperts, scaleColumns, worldSize·maxTokensPerRank]</c> (low-latency expert-major),
    /// <c>[worldSize, scaleColumns, maxTokensPerRank]</c> (rank-major), <c>[scaleColumns, ≥ receiveRows]</c> (flat and
    /// high-throughput expert-major, whose expert segments are row ranges). Scale <c>[.., c, r]</c> belongs to channels
    /// <c>128c .. 128c+127</c> of row <c>r</c> (UE8M0: byte <c>j</c> of word <c>c</c> to channels <c>128(4c+j) ..</c>).
    /// The outer strides are free (e.g. rows padded for TMA), as long as no two entries overlap.</param>
    /// <param name="stream">Stream to order the work on (Cuda).</param>
    /// <exception cref="ArgumentException">The group has no FP8 recipe (names <paramref name="receivedScales"/>), or a
    /// tensor's element type, shape, stride or alignment does not match (named); nothing is launched.</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = ApiDesignJustifications.OverloadsDifferInRequiredParameters)]
    public void Dispatch(EpHandle handle, in EpTensor tokens, in EpTensor received, in EpTensor receivedScales, EpStream stream = default)
    {
        using CallFront.Scope call = _front.Enter(RankBackend, sending: false);
        EpLaunchStubs.DispatchQuantized(this, handle, in tokens, in received, in receivedScales, stream);
    }

    /// <summary>
    /// Sends expert outputs home and reduces them with the router weights in a fixed order (forward), or
    /// sends the gradient of the combined output to the experts (backward; see <see cref="EpPass"/>).
    /// <see cref="CombineSend"/> and <see cref="Complete"/> split it in two, for work in between.
    /// </summary>
    /// <param name="handle">The handle the matching dispatch used.</param>
    /// <param name="expertOutputs">Rows in the group's layout: input (forward) or output (backward). Rank-major: or the
    /// window's rows of the dispatch just made with this handle (<see cref="WindowReceiveRows"/>), read in place.</param>
    /// <param name="combined"><c>[tokens, hidden]</c>: output (forward) or input (backward).</param>
    /// <param name="stream">Stream to order the work on (Cuda).</param>
    /// <param name="pass">Forward or backward.</param>
    public void Combine(EpHandle handle, in EpTensor expertOutputs, in EpTensor combined, EpStream stream = default, EpPass pass = EpPass.Forward)
    {
        using CallFront.Scope call = _front.Enter(RankBackend, sending: false);
        EpLaunchStubs.Combine(this, handle, in expertOutputs, in combined, stream, pass);
    }

    /// <summary>
    /// Sets which ranks take part (control path). A masked rank is neither sent to nor waited on; tokens
    /// routed to its experts contribute nothing to the combine, and its counts read zero. A masked rank is marked
    /// as masked where this rank reaches its memory by address, so its own later calls write nothing to any peer and
    /// raise <see cref="EpRankMaskedException"/>. A masked rank cannot rejoin: a mask that brings one back is refused.
    /// </summary>
    /// <remarks>
    /// This is also the recovery point after a failure: it waits for this rank's device work, restarts its
    /// operation sequence numbers and clears the flags peers left in its window. Every live rank calls it with
    /// the same mask between two barriers of the application's control plane, then starts a fresh
    /// <see cref="EpHandle.Update"/> (docs/failure-handling.md). A send still in flight (<see cref="DispatchSend(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>,
    /// <see cref="CombineSend"/>) is abandoned: it belongs to the failed round, and its <see cref="Complete"/> is refused.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="active"/> does not have one entry per rank, masks this rank,
    /// or brings back a rank an earlier call masked.</exception>
    /// <exception cref="EpRankMaskedException">This rank itself was masked by a survivor.</exception>
    public void SetActiveRanks(ReadOnlySpan<bool> active)
    {
        if (active.Length != WorldSize)
            ThrowHelper.Argument(nameof(active), $"The mask has {active.Length} entries; the group has {WorldSize} ranks.");
        if (!active[Rank])
            ThrowHelper.Argument(nameof(active), $"Rank {Rank} cannot mask itself out.");
        for (int r = 0; r < WorldSize; r++)
        {
            if (active[r] && !_activeRanks[r])
                ThrowHelper.Argument(nameof(active), $"Rank {r} was masked by an earlier SetActiveRanks and cannot rejoin the group (it may still write late, so its writes are fenced off for good); create a new group to bring it back.");
        }
        RankBackend.SetActiveRanks(active);
        active.CopyTo(_activeRanks);
        RestartRoutes();
    }

    /// <summary>Raises any error a kernel recorded (e.g. <see cref="EpTimeoutException"/>).</summary>
    public void CheckErrors() => RankBackend.CheckErrors();

    /// <summary>Waits for the work queued on <paramref name="stream"/> (control path).</summary>
    public void Synchronize(EpStream stream = default) => RankBackend.Synchronize(stream);

    /// <summary>
    /// Releases this rank's buffers and communicator, and first the CUDA Graph executables captured on this rank that
    /// are still alive (their <c>EpGraph</c> then refuses to replay): NCCL's communicator destroy waits for graphs
    /// that hold its send/recv, so a group with network peers would otherwise never finish disposing.
    /// </summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        IDisposable[] dependents;
        lock (_dependents)
        {
            dependents = _dependents.ToArray();
            _dependents.Clear();
        }
        foreach (IDisposable dependent in dependents) dependent.Dispose();
        _backend.Dispose();
    }

    /// <summary>Ties a resource captured from this rank (a graph executable) to the group: released before the backend.</summary>
    internal void AddDependent(IDisposable dependent)
    {
        lock (_dependents) _dependents.Add(dependent);
    }

    /// <summary>The resource was released by its owner.</summary>
    internal void RemoveDependent(IDisposable dependent)
    {
        lock (_dependents) _dependents.Remove(dependent);
    }
}
