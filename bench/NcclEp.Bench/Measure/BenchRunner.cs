using System;
using NcclEp;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>
/// Runs one configuration: groups, routing and buffers, then warm-ups and timed iterations on the rank
/// threads (all ranks pass a barrier before Update, Dispatch and Combine of every iteration), then validation,
/// the back-to-back figures, the NCCL all-to-all baseline, the peer-copy ceiling (high throughput) and the captured step
/// (<c>--graph-step</c>, last: its replays leave the buffers as a replay does, not as the timed loop did). The link's
/// bandwidth (one 1 GiB peer copy, for the link bound) is measured first, with nothing else running.
/// </summary>
internal static class BenchRunner
{
    private const int Phases = 3;

    public static SizeResult Run(IBenchBackend backend, RankThreads threads, BenchOptions options, RunPoint point)
    {
        EpConfig config = options.ToConfig(point);
        int ranks = options.Ranks;
        int[] rankTokens = options.RankTokens(point.Tokens);
        Workload work = Workload.Generate(config, ranks, options.Seed, rankTokens);
        Traffic traffic = Traffic.Compute(work);
        PeerCopyBytes peerBytes = PeerCopyBytes.From(traffic, config);
        EpGroup[] groups = backend.CreateGroups(config, ranks, options.GroupOptions(), threads);
        int blocks = LaunchBlocks.Of(groups[0]);
        (int Dispatch, int Combine) phaseBlocks = LaunchBlocks.Largest(groups, rankTokens);

        var samples = new double[ranks][][];
        var validations = new RankValidation[ranks];
        var steady = new SteadyState.Result[ranks];
        var overlap = new OverlapProbe.Result[ranks];
        var zeroCopy = new ZeroCopyProbe.Result[ranks];
        var concurrent = new ConcurrentComputeProbe.Result[ranks];
        var timelines = new OperationTimeline[ranks];
        var graphSteps = new GraphStepProbe.Result[ranks];
        var baseline = new (double Dispatch, double Combine)[ranks];
        string baselineNote = string.Empty;
        var ceilingSamples = new double[ranks][][];
        var states = new RankState?[ranks];
        PeerCopyCeiling? ceiling = null;
        string ceilingNote = string.Empty;
        LinkResult link;
        BaselineResult baselineResult;
        try
        {
            if (options.Timeline) BlockTimelineProbe.RequireBuiltIn(groups);  // before anything is timed
            link = PeerCopyLink.Measure(groups);
            ceiling = PeerCopyCeiling.TryCreate(groups, peerBytes, out ceilingNote);
            int smsLeft = options.ConcurrentCompute ? ConcurrentComputeProbe.SmsLeft(groups[0]) : 0;
            threads.Run((rank, barrier) =>
            {
                var state = new RankState(backend, groups[rank], work, rank) { RoutedDispatch = options.RoutesInDispatch };
                states[rank] = state;
                samples[rank] = PhaseLoop.Run(state, barrier.Wait, options.Warmup, options.Iters, options.HostExperts);
                if (options.Validate) validations[rank] = Validator.Check(state, work);
                if (options.Timeline) timelines[rank] = BlockTimelineProbe.Measure(state, barrier.Wait);
                steady[rank] = SteadyState.Measure(state, barrier.Wait, options.SteadyOpCount);
                if (options.OverlapWorkUs > 0) overlap[rank] = OverlapProbe.Measure(state, barrier.Wait, options.Warmup, options.Iters, options.OverlapWorkUs);
                if (options.ZeroCopy) zeroCopy[rank] = ZeroCopyProbe.Measure(state, barrier.Wait, options.Warmup, options.Iters);
                if (options.ConcurrentCompute) concurrent[rank] = ConcurrentComputeProbe.Measure(state, barrier.Wait, options.Warmup, options.Iters, smsLeft);
                using NcclAllToAllBaseline? nccl = NcclAllToAllBaseline.TryCreate(groups[rank], traffic, state.Stream, out string why);
                if (rank == 0) baselineNote = why;
                baseline[rank] = nccl is null ? (double.NaN, double.NaN) : nccl.Measure(barrier, options.Warmup, options.Iters);
                if (ceiling is not null) ceilingSamples[rank] = ceiling.Measure(rank, barrier, options.Warmup, options.Iters);
                if (options.GraphStep) graphSteps[rank] = GraphStepProbe.Measure(state, barrier.Wait, work, options.Warmup, options.Iters);
            });
            double d = 0, c = 0, st = 0;
            foreach (SteadyState.Result x in steady) { d = Math.Max(d, x.DispatchUs); c = Math.Max(c, x.CombineUs); st = Math.Max(st, x.StepUs); }
            string at = options.RunPoints().Count > 1 ? $"{point}: " : string.Empty; // which row of a sweep these lines belong to
            Console.WriteLine(at + SteadyState.Describe(options.SteadyOpCount, new SteadyState.Result(d, c, st)));
            if (options.OverlapWorkUs > 0) Console.WriteLine(at + OverlapProbe.Describe(OverlapProbe.Slowest(overlap)));
            if (options.ZeroCopy) Console.WriteLine(at + ZeroCopyProbe.Describe(ZeroCopyProbe.Slowest(zeroCopy)));
            if (options.ConcurrentCompute) Console.WriteLine(at + ConcurrentComputeProbe.Describe(ConcurrentComputeProbe.Slowest(concurrent)));
            double bd = 0, bc = 0;
            foreach ((double bx, double by) in baseline) { bd = Math.Max(bd, bx); bc = Math.Max(bc, by); }
            baselineResult = baselineNote.Length > 0 || double.IsNaN(bd)
                ? BaselineResult.Skipped(baselineNote.Length > 0 ? baselineNote : "not run")
                : new BaselineResult(null, bd, bc);
            Console.WriteLine(at + baselineResult.Line());
            if (options.GraphStep) Console.WriteLine(at + GraphStepProbe.Describe(GraphStepProbe.Slowest(graphSteps), options.RoutesInDispatch));
        }
        finally
        {
            ceiling?.Dispose();
            threads.Run((rank, _) =>
            {
                states[rank]?.Dispose();
                groups[rank].Dispose();
            });
        }

        GraphStepProbe.Result? graphStep = options.GraphStep ? GraphStepProbe.Slowest(graphSteps) : null;
        var perRank = new PhaseStats[Phases][];
        for (int p = 0; p < Phases; p++)
        {
            perRank[p] = new PhaseStats[ranks];
            for (int r = 0; r < ranks; r++) perRank[p][r] = PhaseStats.Of(samples[r][p]);
        }
        return new SizeResult(config, ranks, options.Iters, options.Warmup,
            PhaseStats.MaxOver(perRank[(int)BenchPhase.Update]),
            PhaseStats.MaxOver(perRank[(int)BenchPhase.Dispatch]),
            PhaseStats.MaxOver(perRank[(int)BenchPhase.Combine]),
            traffic,
            GraphStepProbe.WithCheck(options.Validate ? ValidationSummary.Of(validations) : ValidationSummary.Skipped, graphStep),
            ceiling is null ? CeilingResult.Skipped(ceilingNote, peerBytes) : Ceiling(ceilingSamples, peerBytes),
            blocks)
        {
            RoutingInDispatch = options.RoutesInDispatch,
            TokensPerRank = rankTokens,
            PhaseBlocks = phaseBlocks,
            Link = link,
            Baseline = baselineResult,
            Overlap = options.OverlapWorkUs > 0 ? OverlapProbe.Slowest(overlap) : null,
            ZeroCopy = options.ZeroCopy ? ZeroCopyProbe.Slowest(zeroCopy) : null,
            Concurrent = options.ConcurrentCompute ? ConcurrentComputeProbe.Slowest(concurrent) : null,
            Timeline = options.Timeline ? timelines : null,
            GraphStep = graphStep,
        };
    }

    /// <summary>The slowest rank's median and p90 of the copies of each phase.</summary>
    private static CeilingResult Ceiling(double[][][] samples, PeerCopyBytes bytes)
    {
        var dispatch = new PhaseStats[samples.Length];
        var combine = new PhaseStats[samples.Length];
        for (int r = 0; r < samples.Length; r++)
        {
            dispatch[r] = PhaseStats.Of(samples[r][0]);
            combine[r] = PhaseStats.Of(samples[r][1]);
        }
        return new CeilingResult(null, PhaseStats.MaxOver(dispatch), PhaseStats.MaxOver(combine), bytes);
    }
}
