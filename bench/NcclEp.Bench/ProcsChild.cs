using System;
using System.Collections.Generic;
using NcclEp;
using NcclEp.Distributed;

namespace NcclEp.Bench;

/// <summary>
/// One rank of <c>--procs</c>, in its own process on GPU <c>rank</c>: for each token count it creates its group with
/// <see cref="EpGroup.CreateCudaRank(EpConfig, int, int, int, EpRendezvous, EpGroupOptions?)"/>, runs the same
/// iterations as the single-process bench (all ranks meet at a barrier before Update, Dispatch and Combine of each
/// iteration; here an NCCL all-reduce instead of a thread barrier), validates its rank, and writes its phase times
/// to the result file for the parent. Progress goes to stdout (the parent forwards it, prefixed, to its stderr).
/// </summary>
internal static class ProcsChild
{
    private const int Phases = 3;

    public static int Run(BenchOptions options)
    {
        int rank = options.ChildRank!.Value, world = options.World!.Value, device = rank;
        var sizes = new List<RankSize>();
        string fabric = "not created";
        try
        {
            using EpRendezvous rendezvous = EpRendezvous.Parse(options.Rendezvous!, rank, world);
            foreach (int tokens in options.TokenCounts())
            {
                sizes.Add(RunSize(options, rendezvous, rank, world, device, tokens, ref fabric));
                Console.Out.WriteLine($"{tokens} tokens/rank done");
            }
            ProcsResults.Write(options.ResultFile!, new RankReport(rank, world, device, fabric, null, sizes));
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is EpException or ArgumentException or InvalidOperationException or NotSupportedException or TimeoutException)
        {
            string error = $"{e.Message} ({e.GetType().Name})";
            Console.Error.WriteLine($"error: {error}");
            ProcsResults.Write(options.ResultFile!, new RankReport(rank, world, device, fabric, error, sizes));
            return ExitCodes.RunFailed;
        }
    }

    private static RankSize RunSize(BenchOptions options, EpRendezvous rendezvous, int rank, int world, int device, int tokens, ref string fabric)
    {
        EpConfig config = options.ToConfig(tokens);
        Workload work = Workload.Generate(config, world, options.Seed);
        Traffic traffic = Traffic.Compute(work);
        var groupOptions = new EpGroupOptions { PeerTimeout = TimeSpan.FromMilliseconds(options.TimeoutMs) };
        using EpGroup group = EpGroup.CreateCudaRank(config, rank, world, device, rendezvous, groupOptions);
        fabric = group.FabricDescription;
        using var backend = new ProcessBenchBackend(group);
        backend.BindRankThread(rank);
        using var state = new RankState(backend, group, work, rank);

        double[][] samples = Iterate(state, backend, options.Warmup, options.Iters);
        RankValidation? validation = options.Validate ? Validator.Check(state, work, traffic) : null;
        SteadyState.Result steady = BackToBack(state, backend, Math.Max(200, options.Iters * 4));
        backend.Barrier(); // no rank releases its window while a peer may still use it
        return new RankSize(tokens, PhaseStats.Of(samples[(int)BenchPhase.Update]), PhaseStats.Of(samples[(int)BenchPhase.Dispatch]),
            PhaseStats.Of(samples[(int)BenchPhase.Combine]), steady, validation);
    }

    /// <summary>The single-process bench's loop (BenchRunner), with the process barrier before each phase.</summary>
    private static double[][] Iterate(RankState s, ProcessBenchBackend backend, int warmups, int iterations)
    {
        var times = new double[Phases][];
        for (int p = 0; p < Phases; p++) times[p] = new double[iterations];
        var experts = new IdentityExperts(s);
        IPhaseTimer timer = s.Timer;
        EpGroup group = s.Group;
        EpHandle handle = s.Handle;
        for (int it = 0; it < warmups + iterations; it++)
        {
            backend.Barrier();
            timer.Begin(BenchPhase.Update);
            handle.Update(s.Ids, s.Weights, s.Stream);
            timer.End(BenchPhase.Update);
            backend.Synchronize(group, s.Stream);

            backend.Barrier();
            timer.Begin(BenchPhase.Dispatch);
            group.Dispatch(handle, s.Tokens, s.Received, s.Stream);
            timer.End(BenchPhase.Dispatch);
            experts.Run();

            backend.Barrier();
            timer.Begin(BenchPhase.Combine);
            group.Combine(handle, s.ExpertOutputs, s.Combined, s.Stream);
            timer.End(BenchPhase.Combine);
            backend.Synchronize(group, s.Stream);
            group.CheckErrors();

            if (it < warmups) continue;
            for (int p = 0; p < Phases; p++) times[p][it - warmups] = timer.ElapsedMicroseconds((BenchPhase)p);
        }
        return times;
    }

    /// <summary>SteadyState's back-to-back figure, with the process barrier before each run.</summary>
    private static SteadyState.Result BackToBack(RankState s, ProcessBenchBackend backend, int count)
    {
        EpGroup group = s.Group;
        EpHandle handle = s.Handle;
        IPhaseTimer timer = s.Timer;
        EpTensor expertOutputs = group.Config.Layout == EpLayout.ExpertMajor ? s.Received : s.ExpertOutputs;

        backend.Barrier();
        timer.Begin(BenchPhase.Dispatch);
        for (int i = 0; i < count; i++) group.Dispatch(handle, s.Tokens, s.Received, s.Stream);
        timer.End(BenchPhase.Dispatch);
        backend.Synchronize(group, s.Stream);

        backend.Barrier();
        timer.Begin(BenchPhase.Combine);
        for (int i = 0; i < count; i++) group.Combine(handle, expertOutputs, s.Combined, s.Stream);
        timer.End(BenchPhase.Combine);
        backend.Synchronize(group, s.Stream);

        backend.Barrier();
        timer.Begin(BenchPhase.Update);
        for (int i = 0; i < count; i++)
        {
            handle.Update(s.Ids, s.Weights, s.Stream);
            group.Dispatch(handle, s.Tokens, s.Received, s.Stream);
            group.Combine(handle, expertOutputs, s.Combined, s.Stream);
        }
        timer.End(BenchPhase.Update);
        backend.Synchronize(group, s.Stream);
        group.CheckErrors();

        return new SteadyState.Result(
            timer.ElapsedMicroseconds(BenchPhase.Dispatch) / count,
            timer.ElapsedMicroseconds(BenchPhase.Combine) / count,
            timer.ElapsedMicroseconds(BenchPhase.Update) / count);
    }
}
