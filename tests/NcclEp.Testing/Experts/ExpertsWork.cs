using NcclEp.Graphs;

namespace NcclEp.Testing;

/// <summary>
/// The experts as a step's work (<see cref="IEpStepWork"/>): <see cref="AffineExperts"/> of the handle's rank from
/// <see cref="Input"/> to <see cref="Output"/>, on the Host backend on the calling thread (<see cref="HostAffineExperts"/>),
/// on Cuda as one kernel on the stream (<see cref="GpuAffineExperts"/>, given in <see cref="Kernel"/>). Either way it
/// is captured and replayed with the step, and allocates nothing.
/// </summary>
public readonly struct ExpertsWork(EpHandle handle, EpTensor input, EpTensor output, EpPass pass, GpuAffineExperts? kernel = null) : IEpStepWork
{
    public EpHandle Handle { get; } = handle;
    public EpTensor Input { get; } = input;
    public EpTensor Output { get; } = output;
    public EpPass Pass { get; } = pass;
    public GpuAffineExperts? Kernel { get; } = kernel;

    public void Execute(EpStream stream)
    {
        if (Kernel is not null) Kernel.Launch(Handle, Input, Output, Pass, stream);
        else HostAffineExperts.Apply(Handle, Input, Output, Pass);
    }
}
