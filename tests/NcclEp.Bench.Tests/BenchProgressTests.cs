using System;
using System.IO;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>A single run longer than a couple of seconds shows a spinner on a terminal only: never in logs or with --json.</summary>
public sealed class BenchProgressTests
{
    [Theory]
    [InlineData(true, null, true)]
    [InlineData(false, null, false)]
    [InlineData(true, "results.json", false)]
    [InlineData(false, "results.json", false)]
    public void The_spinner_is_drawn_on_a_terminal_without_json_only(bool interactive, string? json, bool expected) =>
        Assert.Equal(expected, ConsoleReport.ShowsStatus(interactive, json));

    [Fact]
    public void Without_a_terminal_the_run_returns_its_result_and_its_exception_as_is()
    {
        var report = new ConsoleReport();
        Assert.False(report.Interactive); // the test host redirects the output
        Assert.Equal(42, report.RunWithStatus("run", null, () => 42));
        Assert.Throws<TimeoutException>(() => report.RunWithStatus<int>("run", null, () => throw new TimeoutException()));
    }

    [Fact]
    public void Redirected_output_of_a_single_run_holds_no_terminal_control_codes()
    {
        string folder = BenchCli.TempFolder();
        try
        {
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--tokens", "8", "--hidden", "512", "--iters", "2", "--warmup", "0", "--steady-ops", "0");
            Assert.True(run.ExitCode == 0, run.Describe());
            Assert.DoesNotContain('\u001b', run.Output);
            Assert.Contains("memory: ", run.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
