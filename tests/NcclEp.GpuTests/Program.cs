using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// GPU test program: the Cuda backend against the Host oracle, bit for bit, over a grid of shapes.
/// Published self-contained (scripts/gpu-bundle.sh) and run on a GPU machine; without a GPU every case is
/// reported skipped with the reason. Ends with "N passed, N failed, N skipped".
/// Usage: NcclEp.GpuTests [--grid quick|ll|ht|full] [--world 2,4] [--budget-seconds N] [--log PATH] [--filter TEXT] [--shard I/N] [--num-sms N]
///                       [--backend host]   (the grid on the Host backend twice, home outputs checked against the reference: no GPU)
///        NcclEp.GpuTests --suite graph [--replays N] [--eager N]
///        NcclEp.GpuTests --suite protocol [--world 2,4] [--backend host]
///        NcclEp.GpuTests --suite overlap [--world 2,4] [--backend host]
///        NcclEp.GpuTests --suite fp8 [--world 2,4] [--filter TEXT] [--budget-seconds N]
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        string suite = Arg(args, "--suite") ?? "grid";
        switch (suite)
        {
            // Each suite prints its cases and ends with "N passed, N failed, N skipped". Add new suites here.
            case "grid": return RunGrid(args);
            case "soak": return SoakSuite.Run(args);
            case "faults": return FaultSuite.Run(args);
            case "graph": return GraphSuite.Run(args);
            case "network-faults": return NetworkFaultSuite.Run(args);
            case "protocol": return ProtocolSuite.Run(args);
            case "overlap": return OverlapSuite.Run(args);
            case "fp8": return Fp8Suite.Run(args);
            default:
                Console.Error.WriteLine($"unknown suite '{suite}'");
                return 2;
        }
    }

    private static int RunGrid(string[] args)
    {
        string grid = Arg(args, "--grid") ?? "quick";
        int[] worlds = (Arg(args, "--world") ?? "2,4").Split(',').Select(int.Parse).ToArray();
        double budget = double.Parse(Arg(args, "--budget-seconds") ?? "480", CultureInfo.InvariantCulture);
        string? logPath = Arg(args, "--log");
        using TextWriter log = logPath is null ? TextWriter.Null : new StreamWriter(logPath) { AutoFlush = true }; // a killed run keeps its lines

        List<GpuCase> cases = GpuGrid.Build(grid, worlds);
        // --filter TEXT keeps the cases whose name contains TEXT (e.g. "H=7168 K=8"), to re-run a slice of a grid.
        if (Arg(args, "--filter") is string filter) cases = cases.FindAll(c => c.ToString().Contains(filter, StringComparison.Ordinal));
        // --shard I/N keeps every N-th case from the I-th (0-based), so a grid longer than one device call's budget
        // is covered by N calls, each with cases of every size.
        if (Arg(args, "--shard") is string shard) cases = Shard(cases, shard);
        // --num-sms N caps every launch at N blocks (EpConfig.NumSms): with co-located ranks, fewer blocks leave SMs free.
        if (Arg(args, "--num-sms") is string sms) GpuCase.NumSms = int.Parse(sms, NumberStyles.None, CultureInfo.InvariantCulture);
        CaseRunner.HostOnly = Arg(args, "--backend") == "host";
        if (!CaseRunner.HostOnly && !EpGroup.IsCudaAvailable(out string reason))
        {
            Console.WriteLine($"skipped: no usable GPU ({reason})");
            Console.WriteLine($"0 passed, 0 failed, {cases.Count} skipped");
            return 0;
        }

        int deviceCount = CaseRunner.HostOnly ? 0 : DeviceCount();
        using var metrics = new LibraryMetrics();  // counts the co-located streams EpGroup.CreateStream replaced
        Console.WriteLine(CaseRunner.HostOnly
            ? $"{cases.Count} cases on grid '{grid}'; Host against Host, home outputs against the reference (--backend host)"
            : $"{cases.Count} cases on grid '{grid}'; {deviceCount} GPU(s); ranks co-located on GPU 0 where fewer GPUs than ranks");
        int passed = 0, failed = 0, skipped = 0;
        var clock = Stopwatch.StartNew();
        foreach (GpuCase c in cases)
        {
            if (clock.Elapsed.TotalSeconds > budget) { skipped++; continue; }
            int[] devices = deviceCount >= c.World ? Enumerable.Range(0, c.World).ToArray() : new int[c.World];
            string? difference;
            TimeSpan elapsed;
            TimeSpan pausedBefore = GC.GetTotalPauseDuration();
            try
            {
                difference = CaseRunner.Run(c, devices, seed: passed + failed + 1, out elapsed);
            }
            catch (RankFailedException e)
            {
                difference = e.Message;
                elapsed = TimeSpan.Zero;
            }
            catch (Exception e)
            {
                difference = $"{e.GetType().Name}: {e.Message}";
                elapsed = TimeSpan.Zero;
            }
            // A failed case says how long the process stood still for the GC meanwhile: a rank thread held up between
            // its peers' launches and its own makes them wait (co-located ranks time out after 2 s).
            string line = difference is null
                ? $"PASS {c} ({elapsed.TotalMilliseconds:0} ms)"
                : $"FAIL {c}: {difference} [GC pauses during the case: {(GC.GetTotalPauseDuration() - pausedBefore).TotalMilliseconds:0} ms; {LaunchTimeline.Describe()}]";
            log.WriteLine(line);
            if (difference is null) passed++;
            else { failed++; Console.WriteLine(line); }
        }
        if (skipped > 0) Console.WriteLine($"time budget of {budget:0} s reached: {skipped} cases not run");
        if (metrics.StreamsReplaced > 0)
            Console.WriteLine($"co-located ranks: {metrics.StreamsReplaced} new streams shared a hardware work queue with another rank's and were replaced");
        Console.WriteLine($"{passed} passed, {failed} failed, {skipped} skipped");
        return failed == 0 ? 0 : 1;
    }

    internal static List<GpuCase> Shard(List<GpuCase> cases, string shard)
    {
        string[] parts = shard.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1 || index >= count)
            throw new ArgumentException($"--shard is '{shard}': give I/N with 0 <= I < N, e.g. 0/2 and 1/2.", nameof(shard));
        return cases.Where((_, i) => i % count == index).ToList();
    }

    internal static int DeviceCount()
    {
        NcclEp.Interop.CudaDriver.Initialize();
        NcclEp.Interop.Check.Cu(NcclEp.Interop.CudaDriver.cuDeviceGetCount(out int count), "cuDeviceGetCount");
        return count;
    }

    internal static string? Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
