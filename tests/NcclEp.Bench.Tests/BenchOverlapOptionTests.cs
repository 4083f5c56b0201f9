using System;
using System.IO;
using System.Text.Json;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// <c>--overlap-work-us</c> and <c>--zero-copy</c> (issue 22): on the Host backend the probes run, print their lines and
/// write their JSON objects (the figures mean something on GPUs only); the hidden part follows its formula; the options
/// refuse what they cannot do; the busy-work kernel compiles for sm_90 with the bench's options.
/// </summary>
public sealed class BenchOverlapOptionTests
{
    [Fact]
    public void The_host_run_prints_and_writes_the_overlap_and_zero_copy_figures_and_validates()
    {
        BenchCli.InTempFolder(folder =>
        {
            string json = Path.Combine(folder, "run.json");
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--layout", "rank-major", "--tokens", "8", "--hidden", "512",
                "--iters", "3", "--warmup", "1", "--steady-ops", "0", "--overlap-work-us", "20", "--zero-copy", "--validate", "--json", json);
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("overlap (send → ", run.Output, StringComparison.Ordinal);
            Assert.Contains("% hidden", run.Output, StringComparison.Ordinal);
            Assert.Contains("zero-copy receive (slowest rank)", run.Output, StringComparison.Ordinal);
            Assert.Contains("rows identical", run.Output, StringComparison.Ordinal);
            Assert.Contains("validation: passed", run.Output, StringComparison.Ordinal);

            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement result = doc.RootElement.GetProperty("results")[0];
            JsonElement overlap = result.GetProperty("overlap");
            Assert.True(overlap.GetProperty("work_us").GetDouble() >= 20, overlap.ToString());
            foreach (string phase in new[] { "dispatch", "combine" })
            {
                JsonElement p = overlap.GetProperty(phase);
                Assert.True(p.GetProperty("alone_us").GetDouble() > 0, p.ToString());
                Assert.True(p.GetProperty("send_work_complete_us").GetDouble() > 0, p.ToString());
                double hidden = p.GetProperty("hidden_percent").GetDouble();
                Assert.InRange(hidden, 0, 100);
            }
            JsonElement zero = result.GetProperty("zero_copy");
            Assert.True(zero.GetProperty("rows_identical").GetBoolean());
            Assert.Equal(zero.GetProperty("dispatch_copy_us").GetDouble() - zero.GetProperty("dispatch_window_us").GetDouble(),
                zero.GetProperty("saved_us").GetDouble(), 9);
        });
    }

    [Fact]
    public void Without_the_options_the_json_says_the_probes_did_not_run()
    {
        BenchCli.InTempFolder(folder =>
        {
            string json = Path.Combine(folder, "run.json");
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--tokens", "4", "--hidden", "512", "--iters", "2", "--warmup", "0",
                "--steady-ops", "0", "--json", json);
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.DoesNotContain("% hidden", run.Output, StringComparison.Ordinal);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement result = doc.RootElement.GetProperty("results")[0];
            Assert.Equal(JsonValueKind.Null, result.GetProperty("overlap").ValueKind);
            Assert.Equal(JsonValueKind.Null, result.GetProperty("zero_copy").ValueKind);
            Assert.Equal(JsonValueKind.Null, result.GetProperty("concurrent_compute").ValueKind);
            Assert.Equal(JsonValueKind.Null, result.GetProperty("graph_step").ValueKind);
        });
    }

    [Theory]
    [InlineData(10, 20, 25, 50)]   // half of the communication ran behind the work
    [InlineData(10, 20, 20, 100)]  // the split took no longer than the work
    [InlineData(10, 20, 30, 0)]    // the two one after the other
    [InlineData(10, 20, 45, 0)]    // slower than that: clamped
    public void The_hidden_part_is_comm_plus_work_minus_the_split_over_comm(double comm, double work, double split, double percent)
    {
        var r = new OverlapProbe.Result(work, comm, split, 2 * comm, split + comm);
        Assert.Equal(percent, r.DispatchHiddenPercent, 9);
        Assert.Equal(percent / 2, r.CombineHiddenPercent, 9);  // the same time hidden of twice the communication
    }

    [Fact]
    public void The_slowest_rank_takes_the_largest_of_each_time()
    {
        OverlapProbe.Result slowest = OverlapProbe.Slowest([new(5, 10, 12, 20, 30), new(6, 9, 14, 25, 28)]);
        Assert.Equal(new OverlapProbe.Result(6, 10, 14, 25, 30), slowest);
        ZeroCopyProbe.Result zero = ZeroCopyProbe.Slowest([new(10, 8, true), new(9, 9, false)]);
        Assert.Equal(new ZeroCopyProbe.Result(10, 9, false), zero);
    }

    [Fact]
    public void The_options_refuse_a_negative_work_time_a_layout_without_window_rows_and_processes()
    {
        Assert.Equal("--overlap-work-us must not be negative, not -5.", new BenchOptions { OverlapWorkUs = -5 }.Check());
        Assert.Contains("--zero-copy needs --mode ll --layout rank-major", new BenchOptions { ZeroCopy = true }.Check(), StringComparison.Ordinal);
        Assert.Null(new BenchOptions { ZeroCopy = true, Layout = EpLayout.RankMajor }.Check());
        Assert.Contains("leave --procs out", new BenchOptions { OverlapWorkUs = 10, Procs = 2, Backend = BackendChoice.Cuda }.Check(), StringComparison.Ordinal);
    }

    [BenchNvrtcTheory]
    [InlineData("sm_90")]
    public void The_busy_work_kernel_compiles_for_sm_90_with_the_benchs_options(string architecture)
    {
        string cache = Path.Combine(Path.GetTempPath(), "ncclep-test-kernels");
        byte[] cubin = BenchTestAccess.Compile(GpuBusyWork.KernelText, GpuBusyWork.Options(architecture), cache);
        Assert.True(cubin.AsSpan().IndexOf(".text.bench_busy_work\0"u8) >= 0, "the sm_90 cubin has no function bench_busy_work");
    }
}
