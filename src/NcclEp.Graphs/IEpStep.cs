using System;

namespace NcclEp.Graphs;

/// <summary>
/// One step of the caller's layer (typically <c>Update → Dispatch → experts → Combine</c>), written once and
/// captured by <see cref="EpGraph.Capture{TStep}(EpGroup, EpStream, ref TStep)"/> or run eagerly by
/// <see cref="EpGraph.RunEagerly{TStep}(EpGroup, EpStream, ref TStep)"/>. A struct implementation avoids the
/// closure a delegate would allocate.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Run"/> is called <b>once per capture</b> on both backends. Inside it, make the data-path calls
/// (<see cref="EpHandle.Update"/>, <see cref="EpGroup.Dispatch(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>, <see cref="EpGroup.Combine"/>) on
/// <see cref="EpStepContext.Stream"/>, and hand your own device work (the experts) to
/// <see cref="EpStepContext.Work{TWork}(TWork)"/>. Those are what every replay repeats; any other code in
/// <see cref="Run"/> runs once, at capture.
/// </para>
/// <para>
/// Control-path calls are refused inside a capture with <see cref="InvalidOperationException"/>: allocation
/// (<see cref="EpGroup.AllocateBuffer"/>, <see cref="EpGroup.CreateHandle()"/>), host synchronisation
/// (<see cref="EpGroup.Synchronize"/>, <see cref="EpGroup.CheckErrors"/>), host transfers
/// (<see cref="EpBuffer.Upload{T}"/>, <see cref="EpBuffer.Download{T}"/>, <see cref="EpBuffer.Fill"/>) and
/// <see cref="EpGroup.SetActiveRanks"/>.
/// </para>
/// <para>
/// A step may split its calls (<see cref="EpGroup.DispatchSend(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>, <see cref="EpGroup.CombineSend"/>, then
/// <see cref="EpGroup.Complete"/>) with the caller's work in between; every send must be completed inside the same step.
/// </para>
/// </remarks>
public interface IEpStep
{
    /// <summary>Issues the step's calls on <paramref name="context"/>'s group and stream.</summary>
    /// <param name="context">The group, the stream and the entry point for the caller's own work.</param>
    void Run(EpStepContext context);
}

/// <summary>
/// A piece of the caller's own device work inside a step (the experts), issued through
/// <see cref="EpStepContext.Work{TWork}(TWork)"/> so that both backends repeat it at every replay.
/// </summary>
/// <remarks>
/// <see cref="Execute"/> has the contract of a data-path call: on the Cuda backend it enqueues the work on
/// <c>stream</c> (kernels, memcpy, memset; it is called once, at capture, and the work it enqueued is part of the
/// graph); on the Host backend it performs the work on the calling rank thread before it returns (it is called at
/// every replay, in the step's order, with the replay's stream). Either way it must not allocate, synchronise with
/// the host or change host state that the next replay depends on.
/// </remarks>
public interface IEpStepWork
{
    /// <summary>Enqueues (Cuda) or performs (Host) the work on <paramref name="stream"/>.</summary>
    /// <param name="stream">The step's stream: the capturing stream on Cuda, the replay's stream on Host.</param>
    void Execute(EpStream stream);
}
