using System;

namespace NcclEp.Graphs.Recording;

/// <summary>A delegate as <see cref="IEpStepWork"/> (allocated once, at capture).</summary>
internal sealed class DelegateWork(Action<EpStream> work) : IEpStepWork
{
    public void Execute(EpStream stream) => work(stream);
}

/// <summary>A delegate as <see cref="IEpStep"/>.</summary>
internal readonly struct DelegateStep(Action<EpStepContext> step) : IEpStep
{
    public void Run(EpStepContext context) => step(context);
}
