using System;
using System.Collections.Generic;
using NcclEp;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>The whole run: check options, pick the backend, run one size or a sweep, print, write JSON, exit code.</summary>
internal static class BenchApp
{
    public static int Run(BenchOptions options, string[] args)
    {
        string? bad = options.Check();
        if (bad is not null)
        {
            Console.Error.WriteLine($"error: {bad}");
            return ExitCodes.Usage;
        }
        if (options.IsChild) return ProcsChild.Run(options);
        if (options.Procs > 0) return ProcsLauncher.Run(options, args);
        if (!BenchBackends.TrySelect(options, out IBenchBackend? selected, out string error))
        {
            Console.Error.WriteLine($"error: {error}");
            return ExitCodes.Usage;
        }

        using IBenchBackend backend = selected!;
        if ((ConcurrentComputeProbe.RefusalOn(options, backend is HostBenchBackend) ?? BlockTimelineProbe.RefusalOn(options, backend is HostBenchBackend)) is { } noGpu)
        {
            Console.Error.WriteLine($"error: {noGpu}");
            return ExitCodes.Usage;
        }
        var report = new ConsoleReport();
        string backendLine = backend.Describe();
        report.Line($"backend: {backendLine}");
        List<RunPoint> points = options.RunPoints();
        report.Line($"config: {options.Describe()}");
        if (options.SmsSweep is not null && backend is HostBenchBackend)
            report.Line($"note: {SmsSweepList.OptionName} on the Host backend: numSms has no effect there (its C# kernels ignore it), so the rows differ by noise only");
        BenchMemory memory = BenchMemory.Of(options, backend is HostBenchBackend);
        report.Line(memory.Line());
        if (memory.RefusalHere() is { } tooLarge)
        {
            Console.Error.WriteLine($"error: {tooLarge}");
            return ExitCodes.Usage;
        }

        List<SizeResult> results;
        try
        {
            using var threads = new RankThreads(options.Ranks, backend.BindRankThread) { Limit = TimeSpan.FromMinutes(30) };
            results = points.Count == 1
                ? [report.RunWithStatus($"running {points[0]}", options.JsonPath, () => BenchRunner.Run(backend, threads, options, points[0]))]
                : report.RunWithProgress(points, point => BenchRunner.Run(backend, threads, options, point));
        }
        catch (Exception e) when (e is RankFailedException or EpException or TimeoutException or InvalidOperationException or ArgumentException)
        {
            Console.Error.WriteLine($"error: the run failed: {Describe(e)}");
            return ExitCodes.RunFailed;
        }

        // The Cuda backend knows how its ranks are connected (NVLink addresses, network peers) once a group exists.
        string connected = backend.Describe();
        if (connected != backendLine)
        {
            backendLine = connected;
            report.Line($"backend: {backendLine}");
        }

        if (options.SmsSweep is not null) report.SmsSweep(results);
        else if (results.Count == 1) report.Single(results[0]);
        else report.Sweep(results);

        ValidationSummary validation = ValidationSummary.Skipped;
        foreach (SizeResult r in results) validation = validation.Add(r.Validation);
        if (options.JsonPath is not null)
        {
            JsonReport.Write(options.JsonPath, backend.Name, backendLine, args, options, results, validation);
            report.Line($"json: {options.JsonPath}");
        }
        if (!BenchArtifacts.Write(report, options, backendLine, args, results)) return ExitCodes.Usage;
        report.Line(validation.Line());
        return validation.Passed ? ExitCodes.Ok : ExitCodes.ValidationFailed;
    }

    private static string Describe(Exception e)
    {
        // A rank failure's message names each failed rank and its exception's type.
        return e is RankFailedException ? e.Message : $"{e.Message} ({e.GetType().Name})";
    }
}
