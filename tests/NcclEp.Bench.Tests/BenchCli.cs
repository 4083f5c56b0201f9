using System;
using System.Collections.Generic;
using System.IO;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>Runs the bench program (built next to these tests) as a child process: what a user types, exit code and output.</summary>
internal static class BenchCli
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    /// <summary>Runs <c>dotnet NcclEp.Bench.dll</c> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>.</summary>
    public static CliResult Run(string workingDirectory, params string[] arguments)
    {
        string bench = Path.Combine(AppContext.BaseDirectory, "NcclEp.Bench.dll");
        if (!File.Exists(bench)) throw new FileNotFoundException("The bench program is not built next to the tests.", bench);
        var all = new List<string> { bench };
        all.AddRange(arguments);
        return DotnetCli.Run(workingDirectory, all, Limit);
    }

    /// <summary>
    /// Runs the bench with options it must refuse before any backend starts: asserts the usage exit code and that no
    /// backend line was printed; returns the output (for the caller's check of the message).
    /// </summary>
    public static string RunRefused(string workingDirectory, params string[] arguments)
    {
        CliResult run = Run(workingDirectory, arguments);
        Assert.True(run.ExitCode == ExitCodes.Usage, run.Output);
        Assert.DoesNotContain("backend: ", run.Output, StringComparison.Ordinal);  // refused before a backend started
        return run.Output;
    }

    /// <summary>Runs <paramref name="test"/> with a fresh temporary folder (<see cref="TempFolder"/>), deleted afterwards.</summary>
    public static void InTempFolder(Action<string> test)
    {
        ArgumentNullException.ThrowIfNull(test);
        string folder = TempFolder();
        try
        {
            test(folder);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A fresh temporary folder for one test's files.</summary>
    public static string TempFolder()
    {
        string folder = Path.Combine(Path.GetTempPath(), "ncclep-bench-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        return folder;
    }
}
