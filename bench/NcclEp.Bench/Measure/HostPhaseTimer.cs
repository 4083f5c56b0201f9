using System;
using System.Diagnostics;

namespace NcclEp.Bench;

/// <summary>Host backend: every call completes before it returns, so Stopwatch ticks around it are the phase time.</summary>
internal sealed class HostPhaseTimer : IPhaseTimer
{
    private const int Phases = 3;
    private readonly long[] _begin = new long[Phases];
    private readonly long[] _end = new long[Phases];

    public void Begin(BenchPhase phase) => _begin[(int)phase] = Stopwatch.GetTimestamp();

    public void End(BenchPhase phase) => _end[(int)phase] = Stopwatch.GetTimestamp();

    public double ElapsedMicroseconds(BenchPhase phase) =>
        (_end[(int)phase] - _begin[(int)phase]) * 1e6 / Stopwatch.Frequency;

    public void Dispose()
    {
    }
}
