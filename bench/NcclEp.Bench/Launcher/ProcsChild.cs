using System;
using System.Collections.Generic;
using NcclEp;
using NcclEp.Distributed;

namespace NcclEp.Bench;

/// <summary>
/// One rank of <c>--procs</c>, in its own process on GPU <c>rank</c> (<see cref="ProcsOptions.DeviceOf"/> in emulated nodes): for each
/// token count it creates its group with <see cref="EpGroup.CreateCudaRank(EpConfig, int, int, int, EpRendezvous, EpGroupOptions?)"/>, runs the same
/// iterations as the single-process bench (all ranks meet at a barrier before Update, Dispatch and Combine of each
/// iteration; here an NCCL all-reduce instead of a thread barrier), validates its rank, and writes its phase times
/// to the result file for the parent. Progress goes to stdout (the parent forwards it, prefixed, to its stderr).
/// </summary>
internal static class ProcsChild
{

    public static int Run(BenchOptions options)
    {
        int rank = options.ChildRank!.Value, world = options.World!.Value, device = ProcsOptions.DeviceOf(options, rank);
        var sizes = new List<RankSize>();
        string fabric = "not created";
        try
        {
            using EpRendezvous rendezvous = EpRendezvous.Parse(options.Rendezvous!, rank, world, options: EpRendezvousOptions.FromEnvironment());
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
        using EpGroup group = EpGroup.CreateCudaRank(config, rank, world, device, rendezvous, options.GroupOptions());
        fabric = group.FabricDescription;
        using var backend = new ProcessBenchBackend(group);
        backend.BindRankThread(rank);
        using var state = new RankState(backend, group, work, rank) { RoutedDispatch = options.RoutesInDispatch };

        double[][] samples = PhaseLoop.Run(state, ProcsFault.Meet(options, rank, backend.Barrier), options.Warmup, options.Iters, options.HostExperts);
        RankValidation? validation = options.Validate ? Validator.Check(state, work) : null;
        SteadyState.Result steady = SteadyState.Measure(state, backend.Barrier, options.SteadyOpCount);
        backend.Barrier(); // no rank releases its window while a peer may still use it
        return new RankSize(tokens, PhaseStats.Of(samples[(int)BenchPhase.Update]), PhaseStats.Of(samples[(int)BenchPhase.Dispatch]),
            PhaseStats.Of(samples[(int)BenchPhase.Combine]), steady, validation);
    }
}
