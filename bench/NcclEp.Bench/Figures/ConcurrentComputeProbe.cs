using System;
using NcclEp;
using NcclEp.Cuda;

namespace NcclEp.Bench;

/// <summary>
/// <c>--concurrent-compute</c>: what dispatch and combine cost a compute kernel running beside them, and what it costs
/// them. Each rank runs <see cref="ConcurrentCompute"/> (fp32 FMA chains, one block per SM that NcclEp's blocks leave
/// free) on a second stream, launched right before each dispatch or combine. Per phase it times, ranks lined up before
/// every sample: the phase alone, the compute alone, and the two together (each on its own stream's events). The
/// compute's work is fixed per phase, sized once so that alone it lasts about as long as the phase alone, so the two
/// overlap for most of their time; its result is checked after the timing, so a kernel that skipped work fails the run.
/// </summary>
internal static class ConcurrentComputeProbe
{
    public const string OptionName = "--concurrent-compute";

    public static readonly string Formula =
        $"compute TFLOP/s = 2 × {ConcurrentCompute.Chains} FMA chains × {ConcurrentCompute.ThreadsPerBlock} threads × blocks × iterations / compute µs / 10^6; compute kept = TFLOP/s beside the phase / TFLOP/s alone " +
        "(= compute µs alone / compute µs beside the phase); EP ratio = phase µs beside the compute / phase µs alone; blocks = SMs left = " +
        "the GPU's SMs / ranks on it − NcclEp's blocks per launch; µs = median over iters after warm-ups; EP times: the slowest rank, compute: the rank that kept least";

    /// <summary>The Host backend has no SMs to share: the refusal, naming the option.</summary>
    public const string HostRefusal =
        OptionName + " needs --backend cuda: it runs a GPU kernel of the bench on the SMs NcclEp leaves free, and the Host backend has no GPU.";

    /// <summary>The refusal once the backend is chosen (<c>--backend auto</c> may find no GPU), or null.</summary>
    public static string? RefusalOn(BenchOptions options, bool hostBackend) =>
        options is { ConcurrentCompute: true } && hostBackend
            ? HostRefusal + (options.Backend == BackendChoice.Auto ? " (--backend auto found no usable GPU)" : "")
            : null;

    /// <summary>Calibration: the compute's time at this many iterations sets the iterations of each phase.</summary>
    public const uint CalibrationIterations = 4096;

    /// <summary>The fewest iterations a phase's compute runs (a launch shorter than this is all overhead).</summary>
    public const uint MinIterations = 64;

    /// <summary>One phase: the EP call alone and beside the compute, the compute alone and beside the call, and the compute's work.</summary>
    public sealed record Phase(double EpAloneUs, double EpConcurrentUs, double ComputeAloneUs, double ComputeConcurrentUs, double ComputeFlops)
    {
        /// <summary>Phase µs beside the compute / alone.</summary>
        public double EpRatio => EpConcurrentUs / EpAloneUs;

        public double ComputeAloneTflops => Tflops(ComputeFlops, ComputeAloneUs);

        public double ComputeConcurrentTflops => Tflops(ComputeFlops, ComputeConcurrentUs);

        /// <summary>The compute's throughput beside the phase, in percent of its throughput alone.</summary>
        public double ComputeKeptPercent => ComputeConcurrentTflops / ComputeAloneTflops * 100;

        private static double Tflops(double flops, double us) => us > 0 ? flops / us / 1e6 : double.NaN;
    }

    /// <summary>One rank's figures (or all ranks', from <see cref="Slowest"/>): the SMs left to the compute and each phase.</summary>
    public sealed record Result(int SmsLeft, Phase Dispatch, Phase Combine);

    /// <summary>
    /// The SMs this rank's compute gets: its share of the GPU (all SMs, or an equal part when ranks share it, as NcclEp
    /// shares it) less NcclEp's blocks per launch; throws when nothing is left.
    /// </summary>
    public static int SmsLeft(EpGroup group)
    {
        var cuda = (CudaRankBackend)group.RankBackend;
        int share = Math.Max(1, cuda.Device.Multiprocessors / cuda.Fabric.RanksPerDevice);
        int left = SmsLeft(cuda.Device.Multiprocessors, cuda.Fabric.RanksPerDevice, LaunchBlocks.Of(group));
        return left >= 1 ? left : throw new InvalidOperationException(
            $"{OptionName}: NcclEp's {LaunchBlocks.Of(group)} blocks per launch take every SM of the rank's share of the GPU ({share}); " +
            "nothing is left for the compute kernel. Lower --num-sms.");
    }

    /// <summary>The GPU's SMs / ranks on it, less <paramref name="epBlocks"/> (may be 0 or less: nothing left).</summary>
    public static int SmsLeft(int multiprocessors, int ranksPerDevice, int epBlocks) => Math.Max(1, multiprocessors / ranksPerDevice) - epBlocks;

    /// <summary>The iterations that make the compute last about <paramref name="targetUs"/>, from a calibration launch; 64 .. 2^20.</summary>
    public static uint IterationsFor(double targetUs, double calibrationUs, uint calibrationIterations)
    {
        if (!(calibrationUs > 0) || !(targetUs > 0)) return MinIterations;
        double iterations = Math.Round(targetUs / calibrationUs * calibrationIterations);
        return (uint)Math.Clamp(iterations, MinIterations, ConcurrentCompute.MaxIterations);
    }

    /// <summary>Times dispatch and combine with and without the compute on this rank (the handle must hold a dispatch and the expert outputs of it).</summary>
    public static Result Measure(RankState s, Action meet, int warmups, int iterations, int smsLeft)
    {
        EpGroup g = s.Group;
        using var compute = new ConcurrentCompute(s, smsLeft);
        Phase dispatch = MeasurePhase(s, meet, warmups, iterations, compute, s.Dispatch);
        Phase combine = MeasurePhase(s, meet, warmups, iterations, compute, () => g.Combine(s.Handle, s.ProbeExpertOutputs, s.Combined, s.Stream));
        return new Result(smsLeft, dispatch, combine);
    }

    private static Phase MeasurePhase(RankState s, Action meet, int warmups, int iterations, ConcurrentCompute compute, Action ep)
    {
        double epAlone = ProbeTimer.Median(s, meet, warmups, iterations, ep);
        (_, double calibration) = Median(s, meet, 1, 3, compute, CalibrationIterations, ep: null);
        uint n = IterationsFor(epAlone, calibration, CalibrationIterations);
        (_, double computeAlone) = Median(s, meet, warmups, iterations, compute, n, ep: null);
        (double epConcurrent, double computeConcurrent) = Median(s, meet, warmups, iterations, compute, n, ep);
        if (compute.CheckResult(n) is { } wrong) throw new InvalidOperationException($"{OptionName}: {wrong}");
        return new Phase(epAlone, epConcurrent, computeAlone, computeConcurrent, ConcurrentCompute.Flops(compute.Blocks, n));
    }

    /// <summary>
    /// Medians of the EP call (rank's stream, its timer) and the compute (its stream, its events), the compute launched
    /// first; with <paramref name="ep"/> null the compute alone (EP median 0).
    /// </summary>
    private static (double Ep, double Compute) Median(RankState s, Action meet, int warmups, int iterations, ConcurrentCompute compute, uint n, Action? ep)
    {
        var epSamples = new double[iterations];
        var computeSamples = new double[iterations];
        for (int it = 0; it < warmups + iterations; it++)
        {
            meet();
            compute.Launch(n);
            if (ep is not null)
            {
                s.Timer.Begin(BenchPhase.Update);
                ep();
                s.Timer.End(BenchPhase.Update);
            }
            compute.Synchronize();
            s.Backend.Synchronize(s.Group, s.Stream);
            s.Group.CheckErrors();
            if (it < warmups) continue;
            computeSamples[it - warmups] = compute.ElapsedMicroseconds;
            if (ep is not null) epSamples[it - warmups] = s.Timer.ElapsedMicroseconds(BenchPhase.Update);
        }
        return (PhaseStats.Of(epSamples).MedianUs, PhaseStats.Of(computeSamples).MedianUs);
    }

    /// <summary>Over ranks: each EP time the slowest rank's; the compute figures those of the rank whose compute kept least.</summary>
    public static Result Slowest(Result[] ranks)
    {
        ArgumentNullException.ThrowIfNull(ranks);
        Result r = ranks[0];
        foreach (Result x in ranks) r = new Result(Math.Min(r.SmsLeft, x.SmsLeft), Slower(r.Dispatch, x.Dispatch), Slower(r.Combine, x.Combine));
        return r;
    }

    private static Phase Slower(Phase a, Phase b)
    {
        Phase compute = b.ComputeKeptPercent < a.ComputeKeptPercent ? b : a;
        return compute with { EpAloneUs = Math.Max(a.EpAloneUs, b.EpAloneUs), EpConcurrentUs = Math.Max(a.EpConcurrentUs, b.EpConcurrentUs) };
    }

    /// <summary>The report line.</summary>
    public static string Describe(Result r) =>
        Inv($"concurrent compute (fp32 FMA kernel on the {r.SmsLeft} SMs NcclEp leaves free, launched on a second stream right before each call): ") +
        PhaseText("dispatch", r.Dispatch) + "; " + PhaseText("combine", r.Combine) +
        " [kept = compute TFLOP/s beside the call / alone; EP ratio = call µs beside the compute / alone]";

    private static string PhaseText(string name, Phase p) =>
        Inv($"{name} {p.EpAloneUs:0.0} µs alone, {p.EpConcurrentUs:0.0} µs beside it (× {p.EpRatio:0.00}), compute {p.ComputeAloneTflops:0.0} → {p.ComputeConcurrentTflops:0.0} TFLOP/s ({p.ComputeKeptPercent:0} % kept)");

    private static string Inv(FormattableString text) => FormattableString.Invariant(text);
}
