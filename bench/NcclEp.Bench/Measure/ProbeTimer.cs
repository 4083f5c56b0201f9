using System;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>The probes' sample: ranks lined up, the body bracketed by the rank's timer, then a sync; the median of the samples.</summary>
internal static class ProbeTimer
{
    public static double Median(RankState s, Action meet, int warmups, int iterations, Action body)
    {
        var samples = new double[iterations];
        for (int it = 0; it < warmups + iterations; it++)
        {
            meet();
            s.Timer.Begin(BenchPhase.Update);
            body();
            s.Timer.End(BenchPhase.Update);
            s.Backend.Synchronize(s.Group, s.Stream);
            s.Group.CheckErrors();
            if (it >= warmups) samples[it - warmups] = s.Timer.ElapsedMicroseconds(BenchPhase.Update);
        }
        return PhaseStats.Of(samples).MedianUs;
    }
}
