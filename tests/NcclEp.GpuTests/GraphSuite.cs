using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using NcclEp.Cuda;
using NcclEp.Graphs;
using NcclEp.Interop;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// GPU proof of NcclEp.Graphs (<c>--suite graph</c>): for LL ExpertMajor, LL RankMajor and HT Flat with 2 ranks
/// (co-located on GPU 0 when there is one GPU), every rank captures <c>Update → Dispatch → experts (the test experts'
/// kernel, distinct per expert) → Combine</c> (and, for LL ExpertMajor once more, with the dispatch that routes itself in
/// place of Update → Dispatch: one kernel node fewer) on its own stream and replays it many times (<c>--replays</c>, default
/// 1,000), writing new routing and tokens into the captured buffers before each replay (synchronous uploads; the ranks
/// meet at a barrier between replays). Every eager step and every replay is compared bit for bit with eager execution
/// of the same inputs on the Host backend (the count is printed); replay must allocate 0 bytes; host cost per step (Stopwatch around the launch calls) and GPU time (CUDA
/// events, median) are timed for eager calls and for replays. The first case also checks the capture errors on Cuda
/// (nested and foreign captures, Synchronize and Download inside a capture, graph-exec update of the same and of another
/// topology) and every case checks that replay after the group's disposal throws. With one GPU the first case also checks
/// that a rank making a stream while another rank captures leaves that capture alone. Ends with "N passed, N failed, N skipped".
/// Usage: NcclEp.GpuTests --suite graph [--replays N] [--eager N]
/// </summary>
internal static partial class GraphSuite
{
    private const int Pool = 7, WarmUp = 10;
    private static readonly TimeSpan BarrierTimeout = TimeSpan.FromSeconds(30);

    /// <summary>A captured step; <paramref name="Routed"/>: on Cuda its dispatch routes itself (the Host oracle runs Update, then Dispatch).</summary>
    private sealed record GraphCase(string Name, EpConfig Config, bool ErrorChecks, bool Routed = false);

    /// <summary>One rank's measurements.</summary>
    private sealed class RankReport
    {
        public List<double> EagerHostUs { get; } = new();
        public List<double> EagerGpuUs { get; } = new();
        public List<double> ReplayHostUs { get; } = new();
        public List<double> ReplayGpuUs { get; } = new();
        public long ReplayAllocatedBytes { get; set; }
        public int Checks { get; set; }
        public List<string> Failures { get; } = new();
        public int NodeCount { get; set; }
    }

    public static int Run(string[] args)
    {
        int replays = int.Parse(Program.Arg(args, "--replays") ?? "1000", CultureInfo.InvariantCulture);
        int eagerRuns = int.Parse(Program.Arg(args, "--eager") ?? "100", CultureInfo.InvariantCulture);
        GraphCase[] cases =
        [
            new("LL ExpertMajor", new EpConfig(EpMode.LowLatency, 16, 2048, 4, 32, EpLayout.ExpertMajor), ErrorChecks: true),
            new("LL RankMajor", new EpConfig(EpMode.LowLatency, 16, 2048, 4, 32, EpLayout.RankMajor), ErrorChecks: false),
            new("LL ExpertMajor routed", new EpConfig(EpMode.LowLatency, 16, 2048, 4, 32, EpLayout.ExpertMajor), ErrorChecks: false, Routed: true),
            new("HT Flat", new EpConfig(EpMode.HighThroughput, 16, 2048, 4, 256, EpLayout.Flat), ErrorChecks: false),
        ];
        if (!EpGroup.IsCudaAvailable(out string reason))
        {
            Console.WriteLine($"skipped: no usable GPU ({reason})");
            Console.WriteLine($"0 passed, 0 failed, {cases.Length} skipped");
            return 0;
        }

        const int world = 2;
        int[] devices = Program.DeviceCount() >= world ? [0, 1] : [0, 0];
        Console.WriteLine($"graph suite: {cases.Length} cases, W={world} on GPU(s) {string.Join(",", devices)}, {replays} replays each; every eager step and replay compared with the Host oracle");
        var table = new List<string>
        {
            "| case | nodes | replays | checks | host µs eager | host µs replay | GPU µs eager | GPU µs replay | replay alloc B |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        };
        int passed = 0, failed = 0;
        var clock = Stopwatch.StartNew();
        foreach (GraphCase c in cases)
        {
            string? failure;
            RankReport[]? reports = null;
            try
            {
                reports = RunCase(c, devices, replays, eagerRuns);
                failure = Describe(reports);
            }
            catch (RankFailedException e)
            {
                failure = e.Message;
            }
            catch (Exception e)
            {
                failure = $"{e.GetType().Name}: {e.Message}";
            }
            if (failure is null) passed++;
            else failed++;
            Console.WriteLine(failure is null ? $"PASS {c.Name} W={world}" : $"FAIL {c.Name} W={world}: {failure}");
            if (reports is not null) Console.WriteLine($"     {c.Name}: {reports.Sum(r => r.Checks)} operations (eager steps and replays, all ranks) compared bit for bit with the Host oracle");
            if (reports is not null) table.Add(Row(c, reports, replays));
        }
        Console.WriteLine();
        foreach (string line in table) Console.WriteLine(line);
        Console.WriteLine();
        Console.WriteLine("host µs: Stopwatch around the launch calls of one step (eager: Update, Dispatch, the expert copy, Combine; replay: EpGraph.Replay), median over ranks' steps;");
        Console.WriteLine("GPU µs: CUDA events around the same calls on the rank's stream, median (co-located ranks include waiting for the peer).");
        Console.WriteLine($"suite time {clock.Elapsed.TotalSeconds:0.0} s");
        Console.WriteLine($"{passed} passed, {failed} failed, 0 skipped");
        return failed == 0 ? 0 : 1;
    }

    private static string? Describe(RankReport[] reports)
    {
        var problems = new List<string>();
        for (int r = 0; r < reports.Length; r++)
        {
            problems.AddRange(reports[r].Failures.Select(f => $"rank {r}: {f}"));
            if (reports[r].ReplayAllocatedBytes != 0) problems.Add($"rank {r}: replays allocated {reports[r].ReplayAllocatedBytes} B");
        }
        return problems.Count == 0 ? null : string.Join(" | ", problems.Take(8));
    }

    private static string Row(GraphCase c, RankReport[] reports, int replays)
    {
        static string Median(IEnumerable<double> values)
        {
            double[] sorted = values.OrderBy(v => v).ToArray();
            return sorted.Length == 0 ? "-" : sorted[sorted.Length / 2].ToString("0.0", CultureInfo.InvariantCulture);
        }
        return $"| {c.Name} | {reports[0].NodeCount} | {replays} | {reports.Sum(r => r.Checks)} | " +
               $"{Median(reports.SelectMany(r => r.EagerHostUs))} | {Median(reports.SelectMany(r => r.ReplayHostUs))} | " +
               $"{Median(reports.SelectMany(r => r.EagerGpuUs))} | {Median(reports.SelectMany(r => r.ReplayGpuUs))} | " +
               $"{reports.Sum(r => r.ReplayAllocatedBytes)} |";
    }

    private static RankReport[] RunCase(GraphCase c, int[] devices, int replays, int eagerRuns)
    {
        int world = devices.Length;
        EpConfig config = c.Config;
        var batches = new RankBatch[world][];
        for (int r = 0; r < world; r++)
        {
            int tokens = config.MaxTokensPerRank - r;  // senders differ
            batches[r] = Enumerable.Range(0, Pool).Select(p => GpuCase.Batch(config, tokens, (1000 * (r + 1)) + p)).ToArray();
        }
        byte[][][] expected = HostOracle(config, world, batches);

        var reports = new RankReport[world];
        for (int r = 0; r < world; r++) reports[r] = new RankReport();
        var graphs = new EpGraph?[world];
        EpGroup[] groups = EpGroup.CreateCuda(config, devices, TopologyEnvironment.Apply(new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(2) }));
        try
        {
            if (c.ErrorChecks && devices[0] == devices[1]) CheckStreamMadeDuringCapture(groups, reports[0]);
            using var barrier = new Barrier(world);
            RankThreads.RunOnce(world, r => RunRank(c, groups[r], batches[r], expected[r], replays, eagerRuns, barrier, reports[r], out graphs[r]));
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
            for (int r = 0; r < world; r++)
            {
                if (graphs[r] is null) continue;
                try
                {
                    graphs[r]!.Replay();
                    reports[r].Failures.Add("Replay after the group's disposal did not throw");
                }
                catch (ObjectDisposedException e) when (e.ObjectName == nameof(EpGroup))
                {
                }
                catch (Exception e)
                {
                    reports[r].Failures.Add($"Replay after the group's disposal threw {e.GetType().Name} (expected ObjectDisposedException): {e.Message}");
                }
                int releaseFailures = NativeRelease.FailureCount;
                graphs[r]!.Dispose();
                if (NativeRelease.FailureCount != releaseFailures)
                    Console.WriteLine($"note: disposing rank {r}'s graph after its group: {NativeRelease.LastFailure}");
            }
        }
        return reports;
    }

    /// <summary>Eager execution of every pooled batch on the Host backend: per rank and batch, the outputs compared.</summary>
    private static byte[][][] HostOracle(EpConfig config, int world, RankBatch[][] batches)
    {
        var expected = new byte[world][][];
        EpGroup[] groups = EpGroup.CreateHost(config, world);
        try
        {
            RankThreads.RunOnce(world, r =>
            {
                using var rig = new StepRig(groups[r], batches[r][0].Tokens, cuda: false);
                expected[r] = new byte[Pool][];
                for (int p = 0; p < Pool; p++)
                {
                    rig.Upload(batches[r][p]);
                    rig.RunEager(default);
                    expected[r][p] = rig.Outputs();
                }
            });
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
        return expected;
    }

    private static void RunRank(
        GraphCase c, EpGroup g, RankBatch[] batches, byte[][] expected, int replays, int eagerRuns, Barrier barrier, RankReport report, out EpGraph? graphOut)
    {
        graphOut = null;
        var backend = (CudaRankBackend)g.RankBackend;
        nint context = backend.Device.Context;
        Check.Cu(CudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        EpStream s = g.CreateStream();  // owned by the group
        nint stream = s.Handle;
        Check.Cu(CudaDriver.cuEventCreate(out nint start, CuEventFlags.Default), "cuEventCreate");
        Check.Cu(CudaDriver.cuEventCreate(out nint end, CuEventFlags.Default), "cuEventCreate");
        try
        {
            using var rig = new StepRig(g, batches[0].Tokens, cuda: true, routed: c.Routed);
            rig.Upload(batches[0]);
            // Co-located ranks share a GPU: allocation must not overlap another rank's waiting kernels.
            Meet(barrier);

            // Eager: the same calls, timed, then checked.
            for (int i = 0; i < WarmUp + eagerRuns; i++)
            {
                Meet(barrier);
                Check.Cu(CudaDriver.cuEventRecord(start, stream), "cuEventRecord");
                long t0 = Stopwatch.GetTimestamp();
                rig.RunEager(s);
                long t1 = Stopwatch.GetTimestamp();
                Check.Cu(CudaDriver.cuEventRecord(end, stream), "cuEventRecord");
                g.Synchronize(s);
                if (i >= WarmUp)
                {
                    report.EagerHostUs.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMicroseconds);
                    report.EagerGpuUs.Add(ElapsedUs(start, end));
                }
                report.Checks++;
                Compare(rig.Outputs(), expected[0], $"eager step {i}", report);
            }
            Milestone(g, "eager steps done");
            Meet(barrier);

            // Capture (nothing runs), then replay with new inputs before every replay.
            MoeStep step = rig.Step();
            EpGraph graph = EpGraph.Capture(g, s, ref step);
            graphOut = graph;
            report.NodeCount = graph.NodeCount;
            Milestone(g, $"captured ({graph.NodeCount} nodes)");
            Meet(barrier);
            for (int i = 0; i < WarmUp; i++)
            {
                Meet(barrier);
                graph.Replay();
                g.Synchronize(s);
                report.Checks++;
                Compare(rig.Outputs(), expected[0], $"warm-up replay {i}", report);
            }
            Milestone(g, "warm-up replays done");
            Meet(barrier);

            long allocated = 0;
            for (int i = 0; i < replays; i++)
            {
                int p = i % Pool;
                rig.Upload(batches[p]);
                Meet(barrier);
                Check.Cu(CudaDriver.cuEventRecord(start, stream), "cuEventRecord");
                long a0 = GC.GetAllocatedBytesForCurrentThread();
                long t0 = Stopwatch.GetTimestamp();
                graph.Replay();
                long t1 = Stopwatch.GetTimestamp();
                allocated += GC.GetAllocatedBytesForCurrentThread() - a0;
                Check.Cu(CudaDriver.cuEventRecord(end, stream), "cuEventRecord");
                g.Synchronize(s);
                report.ReplayHostUs.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMicroseconds);
                report.ReplayGpuUs.Add(ElapsedUs(start, end));
                report.Checks++;
                Compare(rig.Outputs(), expected[p], $"replay {i}", report);
                Meet(barrier);
            }
            report.ReplayAllocatedBytes = allocated;
            Milestone(g, $"{replays} replays done");

            // With network peers too: they passed there in run 12 (bench/results/raw/h200-x2-run12), after the group
            // learned to release its graphs before destroying its communicator.
            if (c.ErrorChecks) CheckCaptureErrors(g, s, rig, graph, batches, expected, barrier, report);
        }
        finally
        {
            _ = CudaDriver.cuStreamSynchronize(stream);
            _ = CudaDriver.cuEventDestroy_v2(start);
            _ = CudaDriver.cuEventDestroy_v2(end);
        }
    }

    private static void Compare(byte[] actual, byte[] expected, string what, RankReport report)
    {
        if (actual.Length != expected.Length)
        {
            report.Failures.Add($"{what}: {actual.Length} output bytes, Host eager has {expected.Length}");
            return;
        }
        int at = expected.AsSpan().CommonPrefixLength(actual);
        if (at < expected.Length) report.Failures.Add($"{what}: differs from Host eager at output byte {at} ({StepRig.Describe(at)})");
    }

    /// <summary>With NCCLEP_GPU_TRACE=1, one line per step of a rank, so a run that hangs shows where.</summary>
    private static void Milestone(EpGroup g, string what) => GpuTrace.Line($"rank {g.Rank}: {what}");

    private static void Meet(Barrier barrier)
    {
        if (!barrier.SignalAndWait(BarrierTimeout))
            throw new TimeoutException($"a peer rank did not reach the barrier in {BarrierTimeout.TotalSeconds:0} s (it failed earlier)");
    }

    private static double ElapsedUs(nint start, nint end)
    {
        Check.Cu(CudaDriver.cuEventElapsedTime_v2(out float ms, start, end), "cuEventElapsedTime_v2");
        return ms * 1000.0;
    }
}
