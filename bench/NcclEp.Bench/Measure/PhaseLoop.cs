using System;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>
/// The timed Update → Dispatch → experts → Combine loop shared by the thread and process benches; with
/// <see cref="RankState.RoutedDispatch"/> (<c>--routing fused</c>) the dispatch takes the routing itself, no Update is made,
/// and the update's times are NaN ("-" in the tables, null in JSON).
/// </summary>
internal static class PhaseLoop
{
    private const int Phases = 3;

    /// <summary>
    /// One rank's loop; returns [phase][iteration] µs of the timed iterations. <paramref name="meet"/> lines the
    /// ranks up before each phase (threads: a barrier; processes: an NCCL all-reduce). The experts step runs on the
    /// GPU for the Cuda backend unless <paramref name="hostExperts"/>.
    /// </summary>
    public static double[][] Run(RankState s, Action meet, int warmups, int iterations, bool hostExperts)
    {
        // FP8 rows are dequantized by the host experts (the GPU kernel reads rows of the configuration's dtype).
        bool gpu = s.Group.RankBackend is NcclEp.Cuda.CudaRankBackend && !hostExperts && !s.Config.IsDispatchQuantized;
        IExpertsStep experts = gpu ? new GpuExpertsStep(s) : new HostExpertsStep(s);
        try
        {
            return Run(s, meet, warmups, iterations, experts);
        }
        finally
        {
            (experts as IDisposable)?.Dispose();
        }
    }

    private static double[][] Run(RankState s, Action meet, int warmups, int iterations, IExpertsStep experts)
    {
        var times = new double[Phases][];
        for (int p = 0; p < Phases; p++) times[p] = new double[iterations];
        IBenchBackend backend = s.Backend;
        IPhaseTimer timer = s.Timer;
        EpGroup group = s.Group;
        EpHandle handle = s.Handle;

        if (s.RoutedDispatch) Array.Fill(times[(int)BenchPhase.Update], double.NaN);
        for (int it = 0; it < warmups + iterations; it++)
        {
            if (!s.RoutedDispatch)
            {
                meet();
                timer.Begin(BenchPhase.Update);
                handle.Update(s.Ids, s.Weights, s.Stream);
                timer.End(BenchPhase.Update);
                backend.Synchronize(group, s.Stream);
            }

            meet();
            timer.Begin(BenchPhase.Dispatch);
            s.Dispatch();
            timer.End(BenchPhase.Dispatch);
            // FP8: the host dequantizes only before the last combine, which validation reads (a combine's time does not
            // depend on the values it adds; moving every iteration's rows through the host would take minutes at HT sizes).
            if (!s.Config.IsDispatchQuantized || it == warmups + iterations - 1) experts.Run();

            meet();
            timer.Begin(BenchPhase.Combine);
            group.Combine(handle, s.ExpertOutputs, s.Combined, s.Stream);
            timer.End(BenchPhase.Combine);
            backend.Synchronize(group, s.Stream);
            group.CheckErrors();

            if (it < warmups) continue;
            for (int p = s.RoutedDispatch ? 1 : 0; p < Phases; p++) times[p][it - warmups] = timer.ElapsedMicroseconds((BenchPhase)p);
        }
        return times;
    }
}
