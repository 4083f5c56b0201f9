using System;
using NcclEp.Backend;
using NcclEp.Cuda;
using NcclEp.Graphs.Recording;

namespace NcclEp.Graphs;

/// <summary>
/// One rank's captured step (<c>Update → Dispatch → the caller's experts → Combine</c>, or any sequence of data-path
/// calls and work), instantiated once and replayed many times while the caller writes new tokens and new top-k
/// routing into the same buffers between replays.
/// </summary>
/// <remarks>
/// <para>
/// <b>Cuda:</b> a CUDA graph. <see cref="Capture{TStep}(EpGroup, EpStream, ref TStep)"/> runs the step once under
/// thread-local stream capture (nothing executes), instantiates the graph and uploads it; <see cref="Replay()"/> is
/// one <c>cuGraphLaunch</c>. The kernels keep their operation sequence numbers in device memory (the window's control
/// block), so every replay reads and advances them exactly as an eager call would.
/// </para>
/// <para>
/// <b>Host:</b> a recording. Capture runs the step once with the group's calls redirected to a recorder: each
/// data-path call is checked and packed by its launch stub as usual, and its packed arguments are stored instead of
/// run; work handed to <see cref="EpStepContext.Work{TWork}(TWork)"/> is stored too. Nothing runs and nothing is
/// read from the buffers during capture, as on Cuda. <see cref="Replay()"/> re-executes the recorded calls and work
/// in order on the calling rank thread.
/// </para>
/// <para>
/// So on both backends: the step's code runs once per capture, and every replay performs the step's data-path calls
/// and work on whatever the captured buffers hold at that moment, with the shapes (token counts), pointers and
/// strides fixed at capture. Change those with <see cref="Update{TStep}(ref TStep)"/>. The handles' host-side
/// bookkeeping (<see cref="EpHandle.NumTokens"/>, whether they are routed and dispatched) is what the capture set;
/// replays leave it alone and rewrite the device-side routing state.
/// </para>
/// <para>
/// <b>Several ranks:</b> every rank captures its own graph on its own thread and stream, and the ranks replay at the
/// same time, each on its own thread (they wait on each other inside the kernels, or the Host backend's calls), in the
/// same order of replays and eager calls. Buffers and handles the step uses must outlive the graph; dispose the graph
/// before the group.
/// </para>
/// </remarks>
public sealed class EpGraph : IDisposable
{
    private const string CaptureCall = "EpGraph.Capture", UpdateCall = "EpGraph.Update", ReplayCall = "EpGraph.Replay";

    private readonly HostStepRecording? _host;
    private readonly CudaStepGraph? _cuda;
    private EpHandle[] _handles;
    private RouteOperations _operations;
    private bool _disposed;

    private EpGraph(EpGroup group, EpStream stream, HostStepRecording? host, CudaStepGraph? cuda, CaptureResult captured)
    {
        Group = group;
        Stream = stream;
        _host = host;
        _cuda = cuda;
        _handles = captured.Handles;
        _operations = captured.Operations;
        // The executable goes before the group's communicator: NCCL's destroy waits for graphs holding its calls.
        if (cuda is not null) group.AddDependent(cuda);
    }

    /// <summary>The rank's group the step was captured on.</summary>
    public EpGroup Group { get; }

    /// <summary>The stream the step was captured on; <see cref="Replay()"/> launches on it.</summary>
    public EpStream Stream { get; }

    /// <summary>Nodes of the captured CUDA graph (Cuda), or recorded calls and work (Host).</summary>
    public int NodeCount => _cuda?.NodeCount ?? _host!.Count;

    /// <summary>Whether <see cref="Dispose"/> ran.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>
    /// Captures <paramref name="step"/> on this rank and instantiates it (control path). Call it on every rank, each
    /// from its own thread; ranks need not capture at the same moment (nothing runs during capture).
    /// </summary>
    /// <typeparam name="TStep">The step; a struct avoids a closure.</typeparam>
    /// <param name="group">The rank's group.</param>
    /// <param name="stream">The stream to capture and replay on. Cuda: a stream of the caller's, not the legacy
    /// default stream (co-located ranks need one each). Host: ignored.</param>
    /// <param name="step">The step; <see cref="IEpStep.Run"/> is called once.</param>
    /// <returns>The graph, to replay and dispose.</returns>
    /// <exception cref="InvalidOperationException">The stream is already being captured, the group is already
    /// capturing, a call inside the step needs the host (synchronisation, error check, transfer, allocation; the
    /// message names it), or the driver invalidated the capture. Capture has ended and nothing is left behind.</exception>
    /// <exception cref="ArgumentException">Cuda: <paramref name="stream"/> is the legacy default stream.</exception>
    /// <exception cref="ObjectDisposedException">The group is disposed.</exception>
    public static EpGraph Capture<TStep>(EpGroup group, EpStream stream, ref TStep step) where TStep : IEpStep
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(step);
        StepCapture.ThrowIfCapturing(group, CaptureCall);
        IEpRankBackend backend = group.RankBackend;
        if (backend.Kind != EpBackendKind.Cuda)
        {
            using CaptureResult recorded = StepCapture.Run(group, stream, ref step, CaptureCall, context: null);
            return new EpGraph(group, stream, new HostStepRecording(recorded.Calls), null, recorded);
        }

        // Checked before anything is created: inside someone else's capture even a context retain could invalidate it.
        CudaStepCapture.ThrowIfUncapturable((CudaRankBackend)backend, stream, CaptureCall);
        var cuda = new CudaStepGraph((CudaRankBackend)backend);
        try
        {
            using CaptureResult captured = StepCapture.Run(group, stream, ref step, CaptureCall, cuda.Context);
            cuda.Instantiate(captured.Graph!, stream);
            return new EpGraph(group, stream, null, cuda, captured);
        }
        catch
        {
            cuda.Dispose();
            throw;
        }
    }

    /// <summary>Like <see cref="Capture{TStep}(EpGroup, EpStream, ref TStep)"/>, for a delegate step (called once).</summary>
    /// <param name="group">The rank's group.</param>
    /// <param name="stream">The stream to capture and replay on (see the generic overload).</param>
    /// <param name="step">Issues the step's calls on the context it is given.</param>
    /// <returns>The graph, to replay and dispose.</returns>
    public static EpGraph Capture(EpGroup group, EpStream stream, Action<EpStepContext> step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var adapter = new DelegateStep(step);
        return Capture(group, stream, ref adapter);
    }

    /// <summary>
    /// Runs <paramref name="step"/> eagerly, with no capture: its data-path calls run as they are made and
    /// <see cref="EpStepContext.Work{TWork}(TWork)"/> executes the work at once. The same step can so be run eagerly
    /// (warm-up, debugging, a reference) and captured. Nothing is refused inside an eager step.
    /// </summary>
    /// <typeparam name="TStep">The step; a struct avoids a closure.</typeparam>
    /// <param name="group">The rank's group.</param>
    /// <param name="stream">The stream to issue on.</param>
    /// <param name="step">The step.</param>
    public static void RunEagerly<TStep>(EpGroup group, EpStream stream, ref TStep step) where TStep : IEpStep
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(step);
        var context = new EpStepContext(group, stream, sink: null);
        try
        {
            step.Run(context);
        }
        finally
        {
            context.Close();
        }
    }

    /// <summary>Like <see cref="RunEagerly{TStep}(EpGroup, EpStream, ref TStep)"/>, for a delegate step.</summary>
    /// <param name="group">The rank's group.</param>
    /// <param name="stream">The stream to issue on.</param>
    /// <param name="step">Issues the step's calls on the context it is given.</param>
    public static void RunEagerly(EpGroup group, EpStream stream, Action<EpStepContext> step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var adapter = new DelegateStep(step);
        RunEagerly(group, stream, ref adapter);
    }

    /// <summary>Replays the step on the stream it was captured on (see <see cref="Replay(EpStream)"/>).</summary>
    public void Replay() => Replay(Stream);

    /// <summary>
    /// Replays the step (data path: allocates nothing). Cuda: raises an error a kernel recorded (as every data-path
    /// call does), then one <c>cuGraphLaunch</c> on <paramref name="stream"/>; it returns at once. Host: runs the
    /// recorded calls and work on the calling thread and returns when they are done.
    /// </summary>
    /// <param name="stream">Cuda: the stream to launch on (in the group's context). Host: passed to the caller's work.</param>
    /// <exception cref="ObjectDisposedException">The graph, its group or a handle the step uses is disposed.</exception>
    /// <exception cref="InvalidOperationException">Called while the group is capturing a step, or while an eager
    /// <see cref="EpGroup.DispatchSend(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/> or <see cref="EpGroup.CombineSend"/> waits for its complete.</exception>
    public void Replay(EpStream stream)
    {
        ThrowIfUnusable(ReplayCall);
        if (_cuda is not null)
        {
            Group.RankBackend.CheckErrors();
            _cuda.Launch(stream.Handle);
        }
        else
        {
            _host!.Replay(Group.RankBackend, stream);
        }
        Group.AdvanceRoutes(_operations.DispatchRoute, _operations.CombineRoute);
    }

    /// <summary>
    /// Captures <paramref name="step"/> again and updates this graph in place (Cuda: <c>cuGraphExecUpdate_v2</c>, no
    /// re-instantiation), for new pointers, strides or token counts. The new step must have the same topology: the
    /// same data-path calls and work in the same order, each with the same kernel (pass). Takes effect from the next
    /// replay. Control path; every rank updates its own graph.
    /// </summary>
    /// <typeparam name="TStep">The step.</typeparam>
    /// <param name="step">The new step; <see cref="IEpStep.Run"/> is called once.</param>
    /// <exception cref="InvalidOperationException">The topology changed (the graph keeps replaying the step it had),
    /// or the capture failed as in <see cref="Capture{TStep}(EpGroup, EpStream, ref TStep)"/>.</exception>
    /// <exception cref="ObjectDisposedException">The graph or its group is disposed.</exception>
    public void Update<TStep>(ref TStep step) where TStep : IEpStep
    {
        ArgumentNullException.ThrowIfNull(step);
        ThrowIfDisposed(UpdateCall);
        using CaptureResult captured = StepCapture.Run(Group, Stream, ref step, UpdateCall, _cuda?.Context);
        if (_cuda is not null) _cuda.Update(captured.Graph!, UpdateCall);
        else _host!.UpdateFrom(captured.Calls, UpdateCall);
        _handles = captured.Handles;
        _operations = captured.Operations;
    }

    /// <summary>Like <see cref="Update{TStep}(ref TStep)"/>, for a delegate step.</summary>
    /// <param name="step">Issues the new step's calls on the context it is given.</param>
    public void Update(Action<EpStepContext> step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var adapter = new DelegateStep(step);
        Update(ref adapter);
    }

    /// <summary>Releases the instantiated graph (Cuda) or the recording (Host). Replays already queued on a stream still run.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_cuda is not null) Group.RemoveDependent(_cuda);
        _cuda?.Dispose();
    }

    private void ThrowIfDisposed(string call)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Group.IsDisposed)
        {
            throw new ObjectDisposedException(
                nameof(EpGroup),
                $"{call}: the group (rank {Group.Rank}) this step was captured on is disposed; its buffers, windows and kernels are gone. Dispose graphs before their group.");
        }
    }

    private void ThrowIfUnusable(string call)
    {
        ThrowIfDisposed(call);
        EpHandle[] handles = _handles;
        for (int i = 0; i < handles.Length; i++)
        {
            if (handles[i].IsDisposed)
                throw new ObjectDisposedException(nameof(EpHandle), $"{call}: a handle the captured step uses is disposed; dispose graphs before the handles they use.");
        }
        if (Group.CaptureSink is not null)
            throw new InvalidOperationException($"{call} inside a capture on rank {Group.Rank}: a replay cannot be part of another captured step.");
        StepCapture.ThrowIfSendsInFlight(Group, call, "before the replay");
    }
}
