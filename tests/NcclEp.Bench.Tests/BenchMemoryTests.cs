using System;
using System.IO;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// The bench prints what a run needs in memory and refuses, at once and with the numbers, a run this machine cannot
/// hold (instead of going silent until the out-of-memory killer ends it).
/// </summary>
public sealed class BenchMemoryTests
{
    private static readonly BenchOptions Run = new() { Tokens = 64 };

    [Fact]
    public void The_need_is_the_library_estimate_and_the_bench_input_copies()
    {
        BenchMemory need = BenchMemory.Of(Run, hostBackend: true);
        EpConfig config = Run.ToConfig(64);
        Assert.Equal(config.EstimateMemory(2), need.Estimate);
        // Per rank: the token rows and the top-k ids and weights the bench generates on the host.
        Assert.Equal(2L * 64 * (config.RowBytes + (2 * config.TopK * 4)), need.InputCopyBytes);
        Assert.Equal(need.Estimate.TotalBytes + need.InputCopyBytes, need.HostBytes);
        Assert.Equal(need.InputCopyBytes, BenchMemory.Of(Run, hostBackend: false).HostBytes);
    }

    [Fact]
    public void A_sweep_is_checked_at_its_largest_size()
    {
        BenchMemory need = BenchMemory.Of(new BenchOptions { Sweep = EpMode.HighThroughput, Layout = EpLayout.Flat }, hostBackend: true);
        Assert.Equal(8192, need.Point.Tokens);
    }

    [Fact]
    public void A_run_that_does_not_fit_is_refused_with_needed_and_available()
    {
        BenchMemory need = BenchMemory.Of(Run, hostBackend: true);
        Assert.Null(need.Refusal(need.HostBytes, "test"));
        string? refusal = need.Refusal(need.HostBytes - 1, "test");
        Assert.NotNull(refusal);
        Assert.Contains($"needs {EpMemoryEstimate.Format(need.HostBytes)} of memory on this machine", refusal, StringComparison.Ordinal);
        Assert.Contains($"{EpMemoryEstimate.Format(need.HostBytes - 1)} is available (test)", refusal, StringComparison.Ordinal);
        Assert.Contains(need.Estimate.ToString(), refusal, StringComparison.Ordinal);
        Assert.Contains("--tokens", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void The_line_shows_the_total_and_the_parts()
    {
        BenchMemory need = BenchMemory.Of(Run, hostBackend: true);
        Assert.StartsWith($"memory: {need.Estimate} at 64 tokens/rank", need.Line(), StringComparison.Ordinal);
        Assert.StartsWith("memory: ", BenchMemory.Of(Run, hostBackend: false).Line(), StringComparison.Ordinal);
        Assert.Contains("per rank on its GPU", BenchMemory.Of(Run, hostBackend: false).Line(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_command_line_refuses_a_run_larger_than_any_machine_at_once_with_the_numbers()
    {
        string folder = BenchCli.TempFolder();
        try
        {
            // 2 ranks × 2^20 tokens of 16384 bf16 elements, 8 local experts each: terabytes.
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--tokens", "1048576", "--hidden", "16384");
            Assert.True(run.ExitCode == ExitCodes.Usage, run.Describe());
            Assert.Contains("memory: ", run.Output, StringComparison.Ordinal);
            Assert.Contains("error: this run needs ", run.Output, StringComparison.Ordinal);
            Assert.Contains(" is available (", run.Output, StringComparison.Ordinal);
            Assert.True(run.Elapsed < TimeSpan.FromSeconds(20), run.Describe());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
