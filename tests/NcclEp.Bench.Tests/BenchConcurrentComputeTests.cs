using System;
using System.IO;
using System.Text.Json;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// <c>--concurrent-compute</c> (issue 21, item 3): the option is parsed and refused where it cannot run (Host backend,
/// <c>--procs</c>, no <c>--num-sms</c>), by its name; the figures follow their formulas (hand-worked numbers); the compute
/// kernel's known sums and exactness bound; the table, Markdown and JSON carry the figures; the kernel compiles for sm_90.
/// </summary>
public sealed class BenchConcurrentComputeTests
{
    [Fact]
    public void The_host_backend_refuses_the_option_by_name_before_running()
    {
        BenchCli.InTempFolder(folder =>
        {
            string refused = BenchCli.RunRefused(folder, "--backend", "host", "--concurrent-compute", "--num-sms", "16", "--tokens", "4", "--hidden", "512");
            Assert.Contains("error: --concurrent-compute needs --backend cuda", refused, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void The_cuda_backend_without_num_sms_is_refused_before_any_gpu_is_touched()
    {
        BenchCli.InTempFolder(folder =>
        {
            CliResult run = BenchCli.Run(folder, "--backend", "cuda", "--mode", "ht", "--concurrent-compute", "--tokens", "4", "--hidden", "512");
            Assert.True(run.ExitCode == ExitCodes.Usage, run.Output);
            Assert.Contains("--concurrent-compute runs its kernel on the SMs that --num-sms leaves free", run.Output, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void The_options_refuse_host_processes_and_a_missing_num_sms_and_accept_a_cuda_run()
    {
        var cuda = new BenchOptions { Backend = BackendChoice.Cuda, Mode = EpMode.HighThroughput, Layout = EpLayout.Flat, ConcurrentCompute = true };
        Assert.Equal(ConcurrentComputeProbe.HostRefusal, (cuda with { Backend = BackendChoice.Host, NumSms = 16 }).Check());
        Assert.Contains("--concurrent-compute runs with the ranks as threads of this process; leave --procs out.",
            (cuda with { NumSms = 16, Procs = 2 }).Check(), StringComparison.Ordinal);
        Assert.Contains("give --num-sms N (or --sms-sweep LIST)", cuda.Check(), StringComparison.Ordinal);
        Assert.Null((cuda with { NumSms = 16 }).Check());
        Assert.Null((cuda with { SmsSweep = [16, 24, 32] }).Check());
        Assert.Null((cuda with { NumSms = 16, Mode = EpMode.LowLatency, Layout = EpLayout.ExpertMajor }).Check());  // ll too
        Assert.Contains("concurrent-compute", (cuda with { NumSms = 16 }).Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_is_refused_once_it_chose_the_host_backend_and_only_with_the_option()
    {
        var options = new BenchOptions { ConcurrentCompute = true, NumSms = 16 };
        Assert.Equal(ConcurrentComputeProbe.HostRefusal + " (--backend auto found no usable GPU)", ConcurrentComputeProbe.RefusalOn(options, hostBackend: true));
        Assert.Null(ConcurrentComputeProbe.RefusalOn(options, hostBackend: false));
        Assert.Null(ConcurrentComputeProbe.RefusalOn(options with { ConcurrentCompute = false }, hostBackend: true));
    }

    [Fact]
    public void The_figures_follow_their_formulas_on_hand_worked_numbers()
    {
        // 100 blocks × 512 threads × 8 chains × 4096 iterations × 2 = 3 355 443 200 FLOP.
        double flops = ConcurrentCompute.Flops(100, 4096);
        Assert.Equal(3_355_443_200d, flops);
        var p = new ConcurrentComputeProbe.Phase(EpAloneUs: 200, EpConcurrentUs: 250, ComputeAloneUs: 64, ComputeConcurrentUs: 80, ComputeFlops: flops);
        Assert.Equal(1.25, p.EpRatio, 12);
        Assert.Equal(52.4288, p.ComputeAloneTflops, 9);       // 3 355 443 200 / 64 µs / 10^6
        Assert.Equal(41.94304, p.ComputeConcurrentTflops, 9); // / 80 µs
        Assert.Equal(80, p.ComputeKeptPercent, 9);             // 64 / 80
        Assert.Equal(double.NaN, (p with { ComputeAloneUs = 0 }).ComputeAloneTflops);
    }

    [Fact]
    public void The_sms_left_are_the_ranks_share_of_the_gpu_less_ncclEps_blocks()
    {
        Assert.Equal(108, ConcurrentComputeProbe.SmsLeft(132, 1, 24));
        Assert.Equal(42, ConcurrentComputeProbe.SmsLeft(132, 2, 24));  // two ranks on one GPU: 66 each
        Assert.Equal(0, ConcurrentComputeProbe.SmsLeft(132, 1, 132));
    }

    [Fact]
    public void The_compute_is_sized_to_last_about_as_long_as_the_phase_within_its_exact_range()
    {
        Assert.Equal(11_703u, ConcurrentComputeProbe.IterationsFor(200, 70, 4096));  // 200 / 70 × 4096 = 11 702.86
        Assert.Equal(4096u, ConcurrentComputeProbe.IterationsFor(70, 70, 4096));
        Assert.Equal(ConcurrentComputeProbe.MinIterations, ConcurrentComputeProbe.IterationsFor(0.01, 70, 4096));
        Assert.Equal(ConcurrentCompute.MaxIterations, ConcurrentComputeProbe.IterationsFor(1e9, 1, 4096));
        Assert.Equal(ConcurrentComputeProbe.MinIterations, ConcurrentComputeProbe.IterationsFor(200, double.NaN, 4096));
    }

    [Fact]
    public void A_blocks_known_sum_counts_every_fma_and_stays_exact_at_the_longest_chain()
    {
        // A thread's chains start at 0..7 and gain 2^-10 per iteration: Σ_j (1024 j + n) units = 28 672 + 8 n; × 512 threads.
        Assert.Equal(512UL * 28_672, ConcurrentCompute.ExpectedBlockUnits(0));
        Assert.Equal(31_457_280UL, ConcurrentCompute.ExpectedBlockUnits(4096));  // 512 × (28 672 + 32 768)
        Assert.Equal(512UL, ConcurrentCompute.ExpectedBlockUnits(4097) - ConcurrentCompute.ExpectedBlockUnits(4096) - 512 * 7);
        // At 2^20 iterations a thread's sum, 8 417 280 units of 2^-10, is below 2^24: fp32 holds it (and every chain) exactly.
        ulong threadUnits = ConcurrentCompute.ExpectedBlockUnits(ConcurrentCompute.MaxIterations) / ConcurrentCompute.ThreadsPerBlock;
        Assert.Equal(8_417_280UL, threadUnits);
        Assert.True(threadUnits < 1UL << 24);
        float sum = threadUnits * ConcurrentCompute.Step;
        Assert.Equal((double)threadUnits, (double)sum / ConcurrentCompute.Step);
    }

    [Fact]
    public void Over_ranks_the_ep_times_are_the_slowest_and_the_compute_the_rank_that_kept_least()
    {
        var a = new ConcurrentComputeProbe.Result(108,
            new(200, 260, 60, 75, 1e9), new(300, 310, 90, 100, 2e9));
        var b = new ConcurrentComputeProbe.Result(108,
            new(210, 240, 62, 70, 1e9), new(290, 330, 88, 110, 2e9));
        ConcurrentComputeProbe.Result slowest = ConcurrentComputeProbe.Slowest([a, b]);
        // dispatch: a kept 80 %, b 88.6 %: a's compute; EP max of each.
        Assert.Equal(new ConcurrentComputeProbe.Phase(210, 260, 60, 75, 1e9), slowest.Dispatch);
        // combine: a kept 90 %, b 80 %: b's compute.
        Assert.Equal(new ConcurrentComputeProbe.Phase(300, 330, 88, 110, 2e9), slowest.Combine);
        Assert.Equal(108, slowest.SmsLeft);
    }

    [Fact]
    public void The_table_markdown_and_json_carry_each_phases_figures()
    {
        var config = new EpConfig(EpMode.HighThroughput, 4, 512, 2, 3, EpLayout.Flat, EpDataType.BFloat16, 24);
        int[][] routing = [[0, 2, 2, 3, 1, -1], [0, 1, 3, 2, -1, -1]];
        Traffic traffic = Traffic.Compute(Workload.FromRouting(config, 2, routing));
        var concurrent = new ConcurrentComputeProbe.Result(108,
            new(200, 250, 64, 80, ConcurrentCompute.Flops(108, 4096)), new(400, 440, 128, 128, ConcurrentCompute.Flops(108, 8192)));
        var result = new SizeResult(config, 2, 5, 1, new PhaseStats(3, 4), new PhaseStats(200, 210), new PhaseStats(400, 410), traffic,
            ValidationSummary.Skipped, CeilingResult.Skipped("not measured in this test", PeerCopyBytes.From(traffic, config)), 24)
        {
            Concurrent = concurrent,
        };

        string[] row = Assert.Single(ConcurrentTable.Rows([result]));
        Assert.Equal(ConcurrentTable.Columns.Length, row.Length);
        Assert.Equal(["3", "24", "108", "200", "250", "× 1.25", "56.6", "45.3", "80.0%", "400", "440", "× 1.10", "56.6", "56.6", "100.0%"], row);
        Assert.Empty(ConcurrentTable.Rows([result with { Concurrent = null }]));
        Assert.Equal(["concurrent compute: " + ConcurrentComputeProbe.Formula], ConcurrentTable.Lines([result]));

        BenchCli.InTempFolder(folder =>
        {
            string json = Path.Combine(folder, "run.json");
            var options = new BenchOptions { Mode = EpMode.HighThroughput, Layout = EpLayout.Flat, NumSms = 24, ConcurrentCompute = true };
            JsonReport.Write(json, "cuda", "test", ["--concurrent-compute"], options, [result], ValidationSummary.Skipped);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement c = doc.RootElement.GetProperty("results")[0].GetProperty("concurrent_compute");
            Assert.Equal(108, c.GetProperty("sms_left").GetInt32());
            Assert.Equal(ConcurrentCompute.ThreadsPerBlock, c.GetProperty("threads_per_block").GetInt32());
            Assert.Equal(ConcurrentComputeProbe.Formula, c.GetProperty("formula").GetString());
            JsonElement d = c.GetProperty("dispatch");
            Assert.Equal(200, d.GetProperty("ep_alone_us").GetDouble());
            Assert.Equal(250, d.GetProperty("ep_concurrent_us").GetDouble());
            Assert.Equal(1.25, d.GetProperty("ep_ratio").GetDouble(), 12);
            Assert.Equal(64, d.GetProperty("compute_alone_us").GetDouble());
            Assert.Equal(80, d.GetProperty("compute_concurrent_us").GetDouble());
            Assert.Equal(ConcurrentCompute.Flops(108, 4096), d.GetProperty("compute_flops").GetDouble());
            Assert.Equal(concurrent.Dispatch.ComputeAloneTflops, d.GetProperty("compute_alone_tflops").GetDouble(), 9);
            Assert.Equal(concurrent.Dispatch.ComputeConcurrentTflops, d.GetProperty("compute_concurrent_tflops").GetDouble(), 9);
            Assert.Equal(80, d.GetProperty("compute_kept_percent").GetDouble(), 9);
            Assert.Equal(100, c.GetProperty("combine").GetProperty("compute_kept_percent").GetDouble(), 9);

            string markdown = MarkdownReport.Render(new ArtifactContext(options, "cuda (test)", ["--concurrent-compute"], [result], DateTimeOffset.UnixEpoch), null);
            Assert.Contains("## Concurrent compute", markdown, StringComparison.Ordinal);
            Assert.Contains("| 3           |     24 |      108 |", markdown, StringComparison.Ordinal);
            Assert.Contains("- concurrent compute: compute TFLOP/s = 2 × 8 FMA chains × 512 threads", markdown, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void The_kernel_source_has_the_shape_the_host_counts_flops_and_sums_with()
    {
        string source = ConcurrentCompute.KernelText;
        Assert.Contains($"#define CHAINS {ConcurrentCompute.Chains}\n", source, StringComparison.Ordinal);
        Assert.Contains($"#define THREADS {ConcurrentCompute.ThreadsPerBlock}\n", source, StringComparison.Ordinal);
        Assert.Contains("acc[j] = fmaf(acc[j], scale, step);", source, StringComparison.Ordinal);
    }

    [BenchNvrtcTheory]
    [InlineData("sm_90")]
    public void The_concurrent_compute_kernel_compiles_for_sm_90_with_the_benchs_options(string architecture)
    {
        string cache = Path.Combine(Path.GetTempPath(), "ncclep-test-kernels");
        byte[] cubin = BenchTestAccess.Compile(ConcurrentCompute.KernelText, BenchKernelModule.Options(architecture), cache);
        Assert.True(cubin.AsSpan().IndexOf(".text.bench_concurrent_compute\0"u8) >= 0, "the sm_90 cubin has no function bench_concurrent_compute");
    }
}
