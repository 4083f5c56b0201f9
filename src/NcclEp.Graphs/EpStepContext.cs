using System;
using NcclEp.Graphs.Recording;

namespace NcclEp.Graphs;

/// <summary>
/// What a step (<see cref="IEpStep.Run"/>) works with: its rank's group, the stream to issue on, and
/// <see cref="Work{TWork}(TWork)"/> for the caller's own device work. Valid only while the step runs.
/// </summary>
public sealed class EpStepContext
{
    private readonly CaptureSink? _sink;
    private bool _closed;

    internal EpStepContext(EpGroup group, EpStream stream, CaptureSink? sink)
    {
        Group = group;
        Stream = stream;
        _sink = sink;
    }

    /// <summary>The rank's group; make the step's data-path calls on it.</summary>
    public EpGroup Group { get; }

    /// <summary>The stream to pass to every data-path call of the step (on Cuda, the stream being captured).</summary>
    public EpStream Stream { get; }

    /// <summary>True inside <see cref="EpGraph.Capture{TStep}(EpGroup, EpStream, ref TStep)"/> and <see cref="EpGraph.Update{TStep}(ref TStep)"/>; false inside <see cref="EpGraph.RunEagerly{TStep}(EpGroup, EpStream, ref TStep)"/>.</summary>
    public bool IsCapturing => _sink is not null;

    /// <summary>
    /// The caller's own device work at this point of the step (e.g. the experts between Dispatch and Combine).
    /// Eager, and while capturing on Cuda, <see cref="IEpStepWork.Execute"/> is called now (on Cuda what it enqueues
    /// on <see cref="Stream"/> becomes part of the graph); while capturing on Host, the work is recorded here (a copy
    /// of <paramref name="work"/>, boxed if it is a struct) and executed at every replay, in the step's order.
    /// </summary>
    /// <typeparam name="TWork">The work's type; a struct avoids a closure.</typeparam>
    /// <param name="work">The work.</param>
    /// <exception cref="InvalidOperationException">The step that received this context has returned.</exception>
    public void Work<TWork>(TWork work) where TWork : IEpStepWork
    {
        ArgumentNullException.ThrowIfNull(work);
        if (_closed)
            throw new InvalidOperationException("EpStepContext.Work after its step returned: a context is valid only inside the IEpStep.Run it was given to.");
        if (_sink is { RecordsCalls: true }) _sink.RecordWork(work);
        else work.Execute(Stream);
    }

    /// <summary>Like <see cref="Work{TWork}(TWork)"/>, for a delegate: <paramref name="work"/>(stream) is the work.</summary>
    /// <param name="work">Enqueues (Cuda) or performs (Host) the work on the stream it is given.</param>
    public void Work(Action<EpStream> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Work(new DelegateWork(work));
    }

    /// <summary>The step returned: later use of the context is an error.</summary>
    internal void Close() => _closed = true;
}
