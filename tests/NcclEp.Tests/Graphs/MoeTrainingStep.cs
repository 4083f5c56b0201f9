using System;
using NcclEp.Graphs;
using NcclEp.Testing;

namespace NcclEp.Tests.Graphs;

/// <summary>
/// The step the graph tests capture: the forward layer (Update → Dispatch → experts → Combine, or with
/// <see cref="RoutedDispatch"/> the dispatch that routes itself → experts → Combine) and, when
/// <see cref="Backward"/> is set, its backward (Combine backward of the output gradient → experts → Dispatch backward).
/// A struct, as <see cref="IEpStep"/> recommends; every tensor is fixed at capture.
/// </summary>
internal struct MoeTrainingStep : IEpStep
{
    public EpHandle Handle;
    public EpTensor Ids, Weights, X, Received, ExpertOut, Combined;
    public bool Backward, RoutedDispatch;
    public EpTensor TokenGrad, LayoutGrad, ExpertGrad, XGrad;
    public ExpertsWork Experts, ExpertsBackward;

    /// <summary>How many times <see cref="Run"/> was called (the step's own code runs once per capture).</summary>
    public int Runs;

    public void Run(EpStepContext context)
    {
        Runs++;
        EpStream s = context.Stream;
        if (RoutedDispatch)
        {
            context.Group.Dispatch(Handle, in Ids, in Weights, in X, in Received, s);
        }
        else
        {
            Handle.Update(in Ids, in Weights, s);
            context.Group.Dispatch(Handle, in X, in Received, s);
        }
        context.Work(Experts);
        context.Group.Combine(Handle, in ExpertOut, in Combined, s);
        if (!Backward) return;
        context.Group.Combine(Handle, in LayoutGrad, in TokenGrad, s, EpPass.Backward);
        context.Work(ExpertsBackward);
        context.Group.Dispatch(Handle, in XGrad, in ExpertGrad, s, EpPass.Backward);
    }
}
