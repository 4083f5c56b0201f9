using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading;

namespace NcclEp.Testing;

/// <summary>What a child <c>dotnet</c> command did.</summary>
public sealed record CliResult(string Command, int ExitCode, string Output, TimeSpan Elapsed)
{
    /// <summary>The command, its exit code and the end of its output, for assertion messages.</summary>
    public string Describe(int tailChars = 6000)
    {
        string tail = Output.Length > tailChars ? "…" + Output[^tailChars..] : Output;
        return $"`{Command}` exited {ExitCode} after {Elapsed.TotalSeconds:0.0} s:\n{tail}";
    }
}

/// <summary>
/// Runs the .NET CLI as a child process with a time limit (the whole process tree is killed when it runs
/// over), no MSBuild node reuse or compiler server (nothing outlives the command), and without the MSBuild
/// variables that <c>dotnet test</c> leaves in the test host's environment.
/// </summary>
public static class DotnetCli
{
    /// <summary>The dotnet host running these tests if it can be found, else <c>dotnet</c> from PATH.</summary>
    public static string Executable { get; } = FindDotnet();

    public static CliResult Run(string workingDirectory, IReadOnlyList<string> arguments, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(Executable)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (string a in arguments) info.ArgumentList.Add(a);
        var remove = new List<string>();
        foreach (string key in info.Environment.Keys)
        {
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
                remove.Add(key);
        }
        foreach (string key in remove) info.Environment.Remove(key);
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        info.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment["UseSharedCompilation"] = "false";
        info.Environment["DOTNET_CLI_UI_LANGUAGE"] = "en";
        if (environment is not null)
        {
            foreach (KeyValuePair<string, string> pair in environment) info.Environment[pair.Key] = pair.Value;
        }

        string command = "dotnet " + string.Join(' ', arguments);
        var output = new StringBuilder();
        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.Append(e.Data).Append('\n'); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.Append(e.Data).Append('\n'); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var limit = new CancellationTokenSource(timeout > TimeSpan.Zero ? timeout : TimeSpan.FromSeconds(1));
        try
        {
            // Waits for the exit and for the end of both output streams.
            process.WaitForExitAsync(limit.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It ended meanwhile.
            }
            process.WaitForExit(10_000);
            lock (output) output.Append($"[timed out after {timeout.TotalSeconds:0} s: the process tree was killed]\n");
            return new CliResult(command, -1, Snapshot(output), stopwatch.Elapsed);
        }
        return new CliResult(command, process.ExitCode, Snapshot(output), stopwatch.Elapsed);
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output) return output.ToString();
    }

    private static string FindDotnet()
    {
        string name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        string? current = Environment.ProcessPath;
        if (current is not null && string.Equals(Path.GetFileName(current), name, StringComparison.OrdinalIgnoreCase)) return current;
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        return "dotnet";
    }
}
