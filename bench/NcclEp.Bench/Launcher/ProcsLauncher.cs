using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using NcclEp;
using NcclEp.Distributed;
using NcclEp.Interop;

namespace NcclEp.Bench;

/// <summary>
/// <c>--procs N</c>: runs the N ranks as N child processes of this program (rank r on GPU r; in emulated nodes with
/// <c>--procs-one-gpu</c> or <c>--procs-node-gpus</c>, see <see cref="ProcsOptions.Placement"/>), the way
/// a cluster launcher starts a job. The children meet through a rendezvous (a fresh file by default, or
/// <c>--rendezvous file:PATH|tcp:HOST:PORT</c>), each writes its per-rank phase times to a file, and this process
/// combines them into the same table as a single-process run (slowest rank per phase).
/// </summary>
internal static class ProcsLauncher
{
    private const string Needs = "--procs needs --backend cuda and a GPU per process";
    private static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(30);
    private static readonly System.Threading.Lock s_console = new();

    /// <summary>Why a run of processes has no peer-copy ceiling.</summary>
    private const string NoCeiling = "with --procs each rank is its own process and reaches its peers only through NCCL windows " +
        "(no CUDA IPC), so no process can copy into another's GPU memory; leave --procs out to measure it";

    private const string NoBaseline = "not run with --procs (the NCCL all-to-all baseline runs where all ranks are in one process)";

    public static int Run(BenchOptions options, string[] args)
    {
        string? error = Preflight(options);
        if (error is not null)
        {
            Console.Error.WriteLine($"error: {error}");
            return ExitCodes.Usage;
        }

        string folder = Path.Combine(Path.GetTempPath(), $"ncclep-procs-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        try
        {
            return RunChildren(options, args, folder);
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Why <c>--procs</c> cannot run here, or null. Nothing is started before this passes.</summary>
    internal static string? Preflight(BenchOptions o)
    {
        if (o.Backend != BackendChoice.Cuda)
        {
            return $"{Needs} (got --backend {BenchNames.Backends[(int)o.Backend]}). The Host backend's ranks are threads of one process and cannot span " +
                $"processes: pass --backend cuda on a machine with {o.Procs} GPUs, or leave --procs out to run {o.Procs} ranks as threads.";
        }
        if (!BenchBackends.TryFindDriver(out string noDriver)) return $"{Needs}: {noDriver}.";
        if (!EpGroup.IsCudaAvailable(out string reason)) return $"{Needs}: {reason}";
        if (!Nccl.TryLoad(out string noNccl)) return $"{Needs} and NCCL: {noNccl}";
        Check.Cu(CudaDriver.cuDeviceGetCount(out int count), "cuDeviceGetCount");
        int needed = ProcsOptions.NodeGpus(o) is > 0 and int g ? g : o.Procs;
        if (count < needed)
            return $"{Needs}: this machine has {count} GPU(s) and {o.Procs} processes need {needed} ({ProcsOptions.Placement(o)}; --procs-one-gpu puts them all on GPU 0).";
        if (o.Rendezvous is not null)
        {
            try
            {
                using EpRendezvous probe = EpRendezvous.Parse(o.Rendezvous, 1, Math.Max(2, o.Procs), options: new EpRendezvousOptions { Secret = s_runSecret.Value });
            }
            catch (ArgumentException e)
            {
                return $"--rendezvous: {e.Message}";
            }
        }
        return null;
    }

    private static int RunChildren(BenchOptions options, string[] args, string folder)
    {
        int world = options.Procs;
        string rendezvous = options.Rendezvous ?? "file:" + Path.Combine(folder, "rendezvous");
        var report = new ConsoleReport();
        report.Line($"procs: {world} processes of {ExecutableDescription()}, {ProcsOptions.Placement(options)}, rendezvous {rendezvous}");
        report.Line($"config: {options.Describe()}");

        var children = new Process[world];
        var tails = new Queue<string>[world];
        var resultFiles = new string[world];
        try
        {
            for (int r = 0; r < world; r++)
            {
                tails[r] = new Queue<string>();
                resultFiles[r] = Path.Combine(folder, $"rank{r}.json");
                try
                {
                    children[r] = Start(r, ProcsOptions.ChildArguments(options, r, rendezvous, resultFiles[r]), tails[r], ProcsOptions.HostIdOf(options, r));
                }
                catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    Console.Error.WriteLine($"error: cannot start rank {r}: {e.Message}");
                    return ExitCodes.RunFailed;
                }
            }
            string? stopped = WaitForAll(children, TimeSpan.FromMilliseconds(Math.Max(10_000, 2L * options.TimeoutMs)));

            var reports = new RankReport?[world];
            var failures = new List<string>();
            for (int r = 0; r < world; r++)
            {
                reports[r] = ProcsResults.TryRead(resultFiles[r]);
                int code = children[r].ExitCode;
                if (code == 0 && reports[r] is { Error: null }) continue;
                string why = reports[r]?.Error ?? LastLines(tails[r]) ?? "it wrote no result";
                failures.Add($"rank {r} (exit {code}): {why}");
            }
            if (failures.Count > 0)
            {
                foreach (string f in failures) Console.Error.WriteLine($"error: the run failed: {f}");
                if (stopped is not null) Console.Error.WriteLine($"error: {stopped}");
                return ExitCodes.RunFailed;
            }
            return Report(report, options, args, reports!, rendezvous);
        }
        finally
        {
            foreach (Process? child in children)
            {
                if (child is null) continue;
                if (!child.HasExited) child.Kill(entireProcessTree: true);
                child.Dispose();
            }
        }
    }

    /// <summary>NCCL's per-process host identity: processes with different values are different nodes to NCCL.</summary>
    internal const string HostIdVariable = "NCCL_HOSTID";

    private static readonly Lazy<string> s_runSecret = new(() =>
        Environment.GetEnvironmentVariable(EpRendezvousOptions.SecretVariable) is { Length: > 0 } secret
            ? secret
            : Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));

    private static Process Start(int rank, List<string> arguments, Queue<string> tail, string? hostId)
    {
        string exe = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this program is not known; --procs cannot start its children.");
        var start = new ProcessStartInfo(exe)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // Run as `dotnet NcclEp.Bench.dll`: the children need the assembly too.
        if (string.Equals(Path.GetFileNameWithoutExtension(exe), "dotnet", StringComparison.Ordinal))
            start.ArgumentList.Add(typeof(ProcsLauncher).Assembly.Location);
        foreach (string a in arguments) start.ArgumentList.Add(a);
        // Emulated nodes: NCCL refuses two ranks of one host on one GPU, and different host ids make them different
        // hosts, reached through its network transport (sockets on loopback).
        if (hostId is not null) start.Environment[HostIdVariable] = hostId;
        // The children authenticate each other at the rendezvous: the user's secret if one is set, else one made for this run.
        start.Environment[EpRendezvousOptions.SecretVariable] = s_runSecret.Value;
        var child = new Process { StartInfo = start };
        DataReceivedEventHandler forward = (_, e) =>
        {
            if (e.Data is null) return;
            lock (s_console)
            {
                Console.Error.WriteLine($"[rank {rank}] {e.Data}");
                tail.Enqueue(e.Data);
                if (tail.Count > 20) tail.Dequeue();
            }
        };
        child.OutputDataReceived += forward;
        child.ErrorDataReceived += forward;
        if (!child.Start()) throw new InvalidOperationException($"Could not start rank {rank} ({exe}).");
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        return child;
    }

    /// <summary>
    /// Waits for every child. Once one has failed, the others get <paramref name="grace"/> to fail on their own (they
    /// wait on it with bounded waits) before they are stopped; the whole run is stopped after 30 minutes. Returns what
    /// was stopped, or null.
    /// </summary>
    private static string? WaitForAll(Process[] children, TimeSpan grace)
    {
        var clock = Stopwatch.StartNew();
        TimeSpan? failedAt = null;
        while (true)
        {
            bool running = false;
            foreach (Process c in children)
            {
                if (!c.HasExited) running = true;
                else if (c.ExitCode != 0) failedAt ??= clock.Elapsed;
            }
            if (!running) break;
            string? stop = clock.Elapsed > RunLimit ? $"the run exceeded {RunLimit.TotalMinutes} minutes"
                : failedAt is { } t && clock.Elapsed - t > grace ? $"a rank failed and the others were still running {grace.TotalSeconds:0} s later"
                : null;
            if (stop is not null)
            {
                var killed = new List<int>();
                for (int r = 0; r < children.Length; r++)
                {
                    if (children[r].HasExited) continue;
                    children[r].Kill(entireProcessTree: true);
                    killed.Add(r);
                }
                foreach (Process c in children) c.WaitForExit();
                return $"{stop}: stopped rank(s) {string.Join(", ", killed)}";
            }
            System.Threading.Thread.Sleep(100);
        }
        foreach (Process c in children) c.WaitForExit(); // drains the redirected output
        return null;
    }

    private static int Report(ConsoleReport report, BenchOptions options, string[] args, RankReport[] reports, string rendezvous)
    {
        int world = reports.Length;
        int[] sizes = options.TokenCounts();
        var results = new List<SizeResult>(sizes.Length);
        for (int i = 0; i < sizes.Length; i++)
        {
            EpConfig config = options.ToConfig(sizes[i]);
            Traffic traffic = Traffic.Compute(Workload.Generate(config, world, options.Seed));
            var update = new PhaseStats[world];
            var dispatch = new PhaseStats[world];
            var combine = new PhaseStats[world];
            var validations = new RankValidation[world];
            double d = 0, c = 0, step = 0;
            for (int r = 0; r < world; r++)
            {
                RankSize s = reports[r].Sizes[i];
                update[r] = s.Update;
                dispatch[r] = s.Dispatch;
                combine[r] = s.Combine;
                validations[r] = s.Validation ?? new RankValidation(r, 0, 0, null);
                d = Math.Max(d, s.Steady.DispatchUs);
                c = Math.Max(c, s.Steady.CombineUs);
                step = Math.Max(step, s.Steady.StepUs);
            }
            report.Line($"{sizes[i]} tokens/rank: " + SteadyState.Describe(options.SteadyOpCount, new SteadyState.Result(d, c, step)));
            results.Add(new SizeResult(config, world, options.Iters, options.Warmup,
                PhaseStats.MaxOver(update), PhaseStats.MaxOver(dispatch), PhaseStats.MaxOver(combine), traffic,
                options.Validate ? ValidationSummary.Of(validations) : ValidationSummary.Skipped,
                CeilingResult.Skipped(NoCeiling, PeerCopyBytes.From(traffic, config)), Blocks: 0)
            {
                RoutingInDispatch = options.RoutesInDispatch,
                Link = LinkResult.Skipped(NoCeiling),
                Baseline = BaselineResult.Skipped(NoBaseline),
            });
        }
        report.Line("baseline: " + NoBaseline);

        string backendLine = $"cuda, {world} processes (one GPU each; rendezvous {rendezvous}); rank 0: {reports[0].Fabric}";
        report.Line($"backend: {backendLine}");
        if (results.Count == 1) report.Single(results[0]);
        else report.Sweep(results);

        ValidationSummary validation = ValidationSummary.Skipped;
        foreach (SizeResult r in results) validation = validation.Add(r.Validation);
        if (options.JsonPath is not null)
        {
            JsonReport.Write(options.JsonPath, "cuda", backendLine, args, options, results, validation);
            report.Line($"json: {options.JsonPath}");
        }
        if (!BenchArtifacts.Write(report, options, backendLine, args, results)) return ExitCodes.Usage;
        report.Line(validation.Line());
        return validation.Passed ? ExitCodes.Ok : ExitCodes.ValidationFailed;
    }

    private static string ExecutableDescription()
    {
        string exe = Environment.ProcessPath ?? "?";
        return string.Equals(Path.GetFileNameWithoutExtension(exe), "dotnet", StringComparison.Ordinal)
            ? $"{exe} {typeof(ProcsLauncher).Assembly.Location}"
            : exe;
    }

    private static string? LastLines(Queue<string> tail)
    {
        lock (s_console)
        {
            return tail.Count == 0 ? null : string.Join(" | ", tail.ToArray()[Math.Max(0, tail.Count - 3)..]);
        }
    }
}
