using System;
using System.IO;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// <c>--steady-ops</c>: how many operations each back-to-back run queues. The default stays max(200, 4 × iters);
/// 0 leaves those runs out (validation runs where the processes take turns on one GPU); children get the count.
/// </summary>
public sealed class BenchSteadyOpsTests
{
    [Theory]
    [InlineData(null, 50, 200)]
    [InlineData(null, 80, 320)]
    [InlineData(16, 50, 16)]
    [InlineData(0, 50, 0)]
    public void The_count_is_the_option_or_the_default(int? given, int iters, int expected) =>
        Assert.Equal(expected, new BenchOptions { SteadyOps = given, Iters = iters }.SteadyOpCount);

    [Fact]
    public void A_negative_count_is_refused_by_name() =>
        Assert.Equal("--steady-ops must not be negative, not -1.", new BenchOptions { SteadyOps = -1 }.Check());

    [Fact]
    public void Every_child_gets_the_count() =>
        Assert.Equal("0", ChildCommandLine.ValueOf(new BenchOptions { Procs = 2, SteadyOps = 0 }, 1, "--steady-ops"));

    [Fact]
    public void The_report_says_when_the_runs_were_left_out()
    {
        Assert.Equal("back-to-back: not run (--steady-ops 0)", SteadyState.Describe(0, default));
        Assert.StartsWith("back-to-back (12 ops per rank", SteadyState.Describe(12, new SteadyState.Result(1, 2, 3)), StringComparison.Ordinal);
    }

    [Fact]
    public void The_command_line_runs_without_the_back_to_back_runs()
    {
        string folder = BenchCli.TempFolder();
        try
        {
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--tokens", "8", "--hidden", "512", "--iters", "2", "--warmup", "0",
                "--steady-ops", "0", "--validate");
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("back-to-back: not run (--steady-ops 0)", run.Output, StringComparison.Ordinal);
            Assert.Contains("validation: passed", run.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
