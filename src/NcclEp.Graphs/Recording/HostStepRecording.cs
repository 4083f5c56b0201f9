using System;
using NcclEp.Backend;

namespace NcclEp.Graphs.Recording;

/// <summary>
/// A step recorded on the Host backend: the launch stubs' packed arguments of every data-path call and the
/// caller's work, in order. A replay re-executes them on the calling rank thread (the Host backend's "launch"),
/// allocating nothing.
/// </summary>
internal sealed class HostStepRecording
{
    private RecordedCall[] _calls;

    public HostStepRecording(RecordedCall[] calls) => _calls = calls;

    public int Count => _calls.Length;

    /// <summary>Runs every recorded call on <paramref name="backend"/>; the caller's work gets <paramref name="stream"/>.</summary>
    public void Replay(IEpRankBackend backend, EpStream stream)
    {
        RecordedCall[] calls = _calls;
        for (int i = 0; i < calls.Length; i++)
        {
            ref readonly RecordedCall call = ref calls[i];
            switch (call.Kind)
            {
                case RecordedKind.Update:
                    backend.Update(call.Handle!, in call.Args);
                    break;
                case RecordedKind.Dispatch:
                    backend.Dispatch(call.Handle!, in call.Args);
                    break;
                case RecordedKind.Combine:
                    backend.Combine(call.Handle!, in call.Args);
                    break;
                default:
                    call.Work!.Execute(stream);
                    break;
            }
        }
    }

    /// <summary>
    /// Takes the arguments of a new recording of the same topology (the Host counterpart of cuGraphExecUpdate: same
    /// calls in the same order, each the same kernel; pointers, strides and token counts may change); otherwise throws
    /// and keeps the old recording.
    /// </summary>
    public void UpdateFrom(RecordedCall[] calls, string caller)
    {
        if (calls.Length != _calls.Length)
            throw TopologyChanged(caller, $"the new step records {calls.Length} calls (data-path calls and work) where the captured one has {_calls.Length}");
        for (int i = 0; i < calls.Length; i++)
        {
            if (!calls[i].SameNode(in _calls[i]))
                throw TopologyChanged(caller, $"call {i} of the new step is {calls[i].Describe()} where the captured step has {_calls[i].Describe()}");
        }
        _calls = calls;
    }

    private static InvalidOperationException TopologyChanged(string caller, string detail) =>
        new($"{caller}: the step's topology changed ({detail}), so the graph cannot be updated in place. " +
            "The graph keeps replaying the step it had; capture a new EpGraph for a different step.");
}
