using System;

namespace NcclEp.Bench;

/// <summary>The phases the bench times, in the order one iteration runs them.</summary>
internal enum BenchPhase
{
    Update = 0,
    Dispatch = 1,
    Combine = 2,
}

/// <summary>
/// Times the phases of one rank's iteration. <see cref="Begin"/> and <see cref="End"/> bracket the call that
/// queues a phase (Cuda: they record events on the stream); <see cref="ElapsedMicroseconds"/> is read after
/// the iteration's <see cref="IBenchBackend.Synchronize"/> and gives the last bracketed time of the phase.
/// </summary>
internal interface IPhaseTimer : IDisposable
{
    void Begin(BenchPhase phase);

    void End(BenchPhase phase);

    double ElapsedMicroseconds(BenchPhase phase);
}
