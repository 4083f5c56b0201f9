using System;
using NcclEp;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>
/// The experts between dispatch and combine as one kernel on the rank's stream (the shared <see cref="GpuAffineExperts"/>,
/// <see cref="AffineExperts"/> bit for bit): no host synchronisation and nothing read back, so the GPU stays busy
/// between dispatch and combine as it would with real experts, and the timed combine starts on a GPU in the same state
/// as the peer-copy ceiling it is compared with.
/// </summary>
internal sealed class GpuExpertsStep(RankState state) : IExpertsStep, IDisposable
{
    private readonly GpuAffineExperts _kernel = new(state.Group);

    public void Run() => _kernel.Launch(state.Handle, state.Received, state.ExpertOutputs, EpPass.Forward, state.Stream);

    public void Dispose() => _kernel.Dispose();
}
