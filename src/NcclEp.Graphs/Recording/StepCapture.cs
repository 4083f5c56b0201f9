using System;
using NcclEp.Backend;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.Graphs.Recording;

/// <summary>
/// What one capture of a step produced: the Host recording or the Cuda graph, the handles it used, and how many
/// operations it issues on each route (a replay advances the group's counts by them).
/// </summary>
internal sealed class CaptureResult(RecordedCall[] calls, CudaGraphHandle? graph, EpHandle[] handles, RouteOperations operations) : IDisposable
{
    public RecordedCall[] Calls { get; } = calls;
    public CudaGraphHandle? Graph { get; } = graph;
    public EpHandle[] Handles { get; } = handles;
    public RouteOperations Operations { get; } = operations;

    public void Dispose() => Graph?.Dispose();
}

/// <summary>Operations a step issues on each route: what one replay adds to the group's counts (the kernels' sequence numbers).</summary>
internal readonly record struct RouteOperations(int DispatchRoute, int CombineRoute);

/// <summary>
/// Runs a step once under capture on one rank: installs the <see cref="CaptureSink"/> and the thread's
/// <see cref="EpCaptureGuard"/>, begins stream capture (Cuda), calls the step, and in <c>finally</c> takes all of
/// it down again and ends the capture, whether the step returned or threw.
/// </summary>
internal static class StepCapture
{
    /// <summary>Throws if the group is capturing a step already (captures of one group do not nest).</summary>
    public static void ThrowIfCapturing(EpGroup group, string caller)
    {
        if (group.IsDisposed) throw new ObjectDisposedException(nameof(EpGroup), $"{caller}: the group (rank {group.Rank}) is disposed.");
        if (group.CaptureSink is not null)
        {
            throw new InvalidOperationException(
                $"{caller}: rank {group.Rank} is already capturing a step; captures do not nest (capture the steps one after another).");
        }
    }

    /// <param name="group">The rank's group.</param>
    /// <param name="stream">The stream to capture.</param>
    /// <param name="step">The caller's step.</param>
    /// <param name="caller">The public call, for messages.</param>
    /// <param name="context">Cuda: the rank's primary context (owned by the graph); null on Host.</param>
    public static CaptureResult Run<TStep>(EpGroup group, EpStream stream, ref TStep step, string caller, CudaPrimaryContext? context)
        where TStep : IEpStep
    {
        ThrowIfCapturing(group, caller);
        ThrowIfSendsInFlight(group, caller, "before the step");
        IEpRankBackend backend = group.RankBackend;
        CudaStepCapture? cuda = context is null ? null : new CudaStepCapture((CudaRankBackend)backend, context, stream, caller);
        var sink = new CaptureSink(backend, group.Rank, context is null ? 0 : context.Value);
        var stepContext = new EpStepContext(group, stream, sink);
        CudaGraphHandle? graph = null;
        bool completed = false;
        cuda?.Begin();
        group.BeginCaptureCount();
        group.CaptureSink = sink;
        EpCaptureGuard.Enter();
        try
        {
            step.Run(stepContext);
            ThrowIfSendsInFlight(group, caller, "at the end of the step");
            completed = true;
        }
        finally
        {
            EpCaptureGuard.Exit();
            group.CaptureSink = null;
            // The step's sends were recorded, not run: a send the step left open must not be completed eagerly.
            group.AbandonSendsInFlight();
            stepContext.Close();
            if (cuda is not null) graph = cuda.End(completed);
        }
        var operations = new RouteOperations(group.CapturedOperations(EpRoute.Dispatch), group.CapturedOperations(EpRoute.Combine));
        return new CaptureResult(sink.Calls, graph, sink.Handles, operations);
    }

    /// <summary>
    /// A send and its complete belong to one step: a replay repeats both. A send issued eagerly before the capture cannot be
    /// completed inside it (every replay would complete it again), and a step that ends with a send in flight would leave
    /// every replay's operation open.
    /// </summary>
    public static void ThrowIfSendsInFlight(EpGroup group, string caller, string when)
    {
        if (!group.HasSendsInFlight) return;
        throw new InvalidOperationException(
            $"{caller}: rank {group.Rank} has a DispatchSend or CombineSend in flight {when}. Every send of a captured step must be completed " +
            "(EpGroup.Complete) inside the same step, and a step cannot be captured or replayed while an eager send waits for its complete.");
    }
}
