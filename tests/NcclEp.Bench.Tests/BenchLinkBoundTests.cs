using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// ep_bench's GB/s per rank, the link bound and the % of link (issue 19): the formulas worked out here from the routing
/// and the times, then the same figures in every output; on the Host backend (a real run) "n/a" and JSON nulls.
/// </summary>
public sealed class BenchLinkBoundTests
{
    // 2 ranks, 4 experts (0, 1 on rank 0; 2, 3 on rank 1), top-2, 3 tokens per rank, hidden 512 bf16: 1024 B rows.
    private static readonly int[][] Routing =
    [
        [0, 2, /* t1 */ 2, 3, /* t2 */ 1, -1],
        [0, 1, /* t1 */ 3, 2, /* t2 */ -1, -1],
    ];

    private static readonly EpConfig Config = new(EpMode.LowLatency, 4, 512, 2, 3, EpLayout.ExpertMajor, EpDataType.BFloat16);

    private static SizeResult Result(int[][] routing, EpConfig config, PhaseStats dispatch, PhaseStats combine, LinkResult link, BaselineResult baseline)
    {
        Traffic traffic = Traffic.Compute(Workload.FromRouting(config, routing.Length, routing));
        return new SizeResult(config, routing.Length, 5, 1, new PhaseStats(3, 4), dispatch, combine, traffic, ValidationSummary.Skipped,
            CeilingResult.Skipped("not measured in this test", PeerCopyBytes.From(traffic, config)), 0)
        {
            Link = link,
            Baseline = baseline,
        };
    }

    /// <summary>A link whose 1 GiB copy took <paramref name="copyUs"/>.</summary>
    private static LinkResult Link(double copyUs) => new(null, new PhaseStats(copyUs, copyUs + 1));

    [Fact]
    public void Ep_bench_rate_is_valid_selections_per_rank_times_row_bytes_over_the_phase_time_for_both_phases()
    {
        SizeResult r = Result(Routing, Config, new PhaseStats(40, 50), new PhaseStats(80, 90), LinkResult.Skipped("none"), BaselineResult.Skipped("none"));
        long selections = Routing.Sum(ids => ids.Count(e => e >= 0));
        double bytesPerRank = selections * 512.0 * 2 / 2;
        Assert.Equal(9, selections);
        Assert.Equal(selections, r.Traffic.Slots);
        Assert.Equal(bytesPerRank / 40e3, r.DispatchGBpsEpBench, 12);
        Assert.Equal(bytesPerRank / 80e3, r.CombineGBpsEpBench, 12);
        Assert.Contains("= 9 selections / 2 ranks × 512 × 2 B = ", r.EpBenchBytes(), StringComparison.Ordinal);
    }

    [Fact]
    public void Link_bound_is_the_busiest_ranks_remote_bytes_at_the_measured_1_GiB_copy_rate()
    {
        const double copyUs = 2700;
        SizeResult r = Result(Routing, Config, new PhaseStats(40, 50), new PhaseStats(80, 90), Link(copyUs), BaselineResult.Skipped("none"));
        double gbps = (1L << 30) / (copyUs * 1e3);
        Assert.Equal(gbps, r.Link.GBps, 12);
        // Dispatch: rank 0 sends t0 and t1 to rank 1 (2 rows) and receives rank 1's t0 (1 row). Combine (expert-major,
        // per slot): rank 1 sends 3 rows home to rank 0, rank 0 sends 2 to rank 1. The busiest rank moves 2 and 3 rows.
        Assert.Equal(2 * 1024, r.Ceiling.Bytes.BusiestRankDispatchBytes);
        Assert.Equal(3 * 1024, r.Ceiling.Bytes.BusiestRankCombineBytes);
        Assert.Equal(2 * 1024 / (gbps * 1e3), r.DispatchLinkBoundUs, 12);
        Assert.Equal(3 * 1024 / (gbps * 1e3), r.CombineLinkBoundUs, 12);
        Assert.Equal(100 * r.DispatchLinkBoundUs / 40, r.DispatchPercentOfLink, 12);
        Assert.Equal(100 * r.CombineLinkBoundUs / 80, r.CombinePercentOfLink, 12);
    }

    [Fact]
    public void Busiest_rank_counts_what_a_rank_receives_when_that_exceeds_what_any_rank_sends()
    {
        // 3 ranks, 2 experts each, top-1, 2 tokens: ranks 1 and 2 send both tokens to rank 0, which keeps its own.
        var config = new EpConfig(EpMode.LowLatency, 6, 512, 1, 2, EpLayout.RankMajor, EpDataType.BFloat16);
        int[][] routing = [[0, 1], [0, 1], [1, 0]];
        SizeResult r = Result(routing, config, new PhaseStats(10, 11), new PhaseStats(10, 11), Link(1000), BaselineResult.Skipped("none"));
        Assert.Equal(2, r.Ceiling.Bytes.DispatchRows[1][0]);
        Assert.Equal(2, r.Ceiling.Bytes.DispatchRows[2][0]);
        Assert.Equal(4 * 1024, r.Ceiling.Bytes.BusiestRankDispatchBytes);  // rank 0 receives 4 rows; no rank sends more than 2
        Assert.Equal(4 * 1024, r.Ceiling.Bytes.BusiestRankCombineBytes);   // and sends nothing home but receives them back
    }

    [Fact]
    public void Measured_link_and_baseline_appear_in_the_tables_json_and_chart()
    {
        var options = new BenchOptions { Mode = EpMode.LowLatency, Tokens = 3, Hidden = 512, TopK = 2, Experts = 4 };
        SizeResult r = Result(Routing, Config, new PhaseStats(40, 50), new PhaseStats(80, 90), Link(2700), new BaselineResult(null, 61.5, 72.4));
        var context = new ArtifactContext(options, "cuda (made up for the test)", ["--mode", "ll"], [r], DateTimeOffset.UnixEpoch);
        string bound = Units.Micros(r.DispatchLinkBoundUs), percent = Units.Percent(r.DispatchPercentOfLink);
        string epBench = Units.Rate(r.DispatchGBpsEpBench);
        Assert.NotEqual("n/a", bound);

        string markdown = MarkdownReport.Render(context, chartLink: null);
        Assert.Contains("## Link bound, ep_bench GB/s and the NCCL all-to-all baseline", markdown, StringComparison.Ordinal);
        string row = markdown.Split('\n').First(l => l.StartsWith("| 3 ", StringComparison.Ordinal) && l.Contains(Units.Rate(r.Link.GBps), StringComparison.Ordinal));
        string[] cells = row.Split('|', StringSplitOptions.TrimEntries)[1..^1];
        Assert.Equal(["3", Units.Rate(r.Link.GBps), "40.0", epBench, "0.00", bound, percent, "61.5"], cells[..8]);
        Assert.Equal(Units.Percent(r.CombinePercentOfLink), cells[12]);
        Assert.Equal("72.4", cells[13]);
        Assert.Contains("- link: one 1073741824 B (1 GiB) cuMemcpyPeerAsync from rank 0's GPU to rank 1's", markdown, StringComparison.Ordinal);
        Assert.Contains("- baseline: NCCL all-to-all (counts first, host sync, then rows; median, slowest rank)", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("n/a", markdown, StringComparison.Ordinal);

        string html = HtmlReport.Render(context);
        Assert.Contains($"<td>{bound}</td><td>{percent}</td><td>61.5</td>", html, StringComparison.Ordinal);

        ChartData chart = ChartData.From([r], options, context.BackendLine, context.Date);
        Assert.Equal(["dispatch", "combine", "dispatch link bound", "combine link bound"], chart.Series.Select(s => s.Name).ToArray());
        Assert.Equal(r.DispatchLinkBoundUs, chart.Series[2].Values[0], 12);
        Assert.Contains("stroke-dasharray", SvgChart.Render(chart), StringComparison.Ordinal);

        BenchCli.InTempFolder(folder =>
        {
            string path = Path.Combine(folder, "out.json");
            JsonReport.Write(path, "cuda", context.BackendLine, context.Args, options, [r], ValidationSummary.Skipped);
            using JsonDocument json = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement result = json.RootElement.GetProperty("results")[0];
            JsonElement dispatch = result.GetProperty("dispatch"), combine = result.GetProperty("combine");
            Assert.Equal(r.DispatchGBpsEpBench, dispatch.GetProperty("gbps_ep_bench_per_rank").GetDouble(), 12);
            Assert.Equal(r.DispatchLinkBoundUs, dispatch.GetProperty("link_bound_us").GetDouble(), 12);
            Assert.Equal(r.DispatchPercentOfLink, dispatch.GetProperty("percent_of_link").GetDouble(), 12);
            Assert.Equal(r.CombinePercentOfLink, combine.GetProperty("percent_of_link").GetDouble(), 12);
            Assert.Equal(72.4, combine.GetProperty("nccl_all_to_all_us").GetDouble(), 12);
            JsonElement link = result.GetProperty("link");
            Assert.True(link.GetProperty("measured").GetBoolean());
            Assert.Equal(1L << 30, link.GetProperty("copy_bytes").GetInt64());
            // The bound recomputed from the JSON alone: busiest rank's bytes / (1 GiB / copy time).
            double gbps = link.GetProperty("copy_bytes").GetInt64() / (link.GetProperty("median_us").GetDouble() * 1e3);
            Assert.Equal(dispatch.GetProperty("busiest_rank_remote_bytes").GetInt64() / (gbps * 1e3), dispatch.GetProperty("link_bound_us").GetDouble(), 9);
        });
    }

    [Fact]
    public void Host_run_says_n_a_for_the_link_writes_nulls_and_still_gives_ep_bench_rates()
    {
        BenchCli.InTempFolder(folder =>
        {
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--mode", "ll", "--sweep", "ll", "--hidden", "512", "--iters", "2",
                "--warmup", "0", "--steady-ops", "0", "--no-terminal-chart", "--markdown", "out.md", "--json", "out.json", "--chart", "out.svg");
            Assert.True(run.ExitCode == 0, run.Describe());
            string[] lines = run.Output.Split('\n');
            Assert.Contains(lines, l => l.StartsWith("link: not measured, link bound n/a: the Host backend's ranks are threads without GPUs", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("| tokens/rank | link GB/s | dispatch µs | dispatch GB/s/rank (ep_bench) |", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("| 128 ", StringComparison.Ordinal) && l.Contains("|       n/a |", StringComparison.Ordinal));

            string markdown = File.ReadAllText(Path.Combine(folder, "out.md"));
            Assert.Contains("- link: not measured, link bound n/a: the Host backend's ranks", markdown, StringComparison.Ordinal);
            Assert.DoesNotContain("stroke-dasharray", File.ReadAllText(Path.Combine(folder, "out.svg")), StringComparison.Ordinal);

            using JsonDocument json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "out.json")));
            int ranks = json.RootElement.GetProperty("ranks").GetInt32(), hidden = json.RootElement.GetProperty("hidden").GetInt32();
            JsonElement[] results = json.RootElement.GetProperty("results").EnumerateArray().ToArray();
            Assert.Equal(8, results.Length);
            foreach (JsonElement r in results)
            {
                Assert.False(r.GetProperty("link").GetProperty("measured").GetBoolean());
                long selections = r.GetProperty("ep_bench_selections").GetInt64();
                Assert.InRange(selections, 1, r.GetProperty("tokens_per_rank").GetInt32() * ranks * json.RootElement.GetProperty("topk").GetInt32());
                foreach (string phase in new[] { "dispatch", "combine" })
                {
                    JsonElement p = r.GetProperty(phase);
                    Assert.Equal(JsonValueKind.Null, p.GetProperty("link_bound_us").ValueKind);
                    Assert.Equal(JsonValueKind.Null, p.GetProperty("percent_of_link").ValueKind);
                    Assert.Equal(JsonValueKind.Null, p.GetProperty("nccl_all_to_all_us").ValueKind);
                    double expected = selections * hidden * 2.0 / ranks / (p.GetProperty("median_us").GetDouble() * 1e3);
                    Assert.Equal(expected, p.GetProperty("gbps_ep_bench_per_rank").GetDouble(), 9);
                }
            }
        });
    }
}
