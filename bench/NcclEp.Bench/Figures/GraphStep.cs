using NcclEp;
using NcclEp.Graphs;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>
/// The step <c>--graph-step</c> captures: the timed loop's routing and dispatch (<see cref="RankState.Dispatch()"/>, which
/// takes the routing itself under <c>--routing fused</c>; else <see cref="EpHandle.Update"/> first), the bench's distinct
/// experts (<see cref="ExpertsWork"/>: the GPU kernel on Cuda, on the rank thread on Host) and the combine of their outputs.
/// </summary>
internal readonly struct GraphStep(RankState state, ExpertsWork experts) : IEpStep
{
    public void Run(EpStepContext context)
    {
        // Capture runs on the rank's stream (EpGraph.Capture(group, state.Stream, ...)), so state.Stream is context.Stream.
        if (!state.RoutedDispatch) state.Handle.Update(state.Ids, state.Weights, context.Stream);
        state.Dispatch();
        context.Work(experts);
        context.Group.Combine(state.Handle, state.ExpertOutputs, state.Combined, context.Stream);
    }
}
