using System;
using System.IO;
using System.Text.Json;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// <c>--combine per-rank|per-slot</c>: expert-major's combine reduction (EpConfig.CombineReduction). Per-rank partials
/// count one row per (token, expert rank) home, from a routing worked out by hand; a host run validates bit for bit and
/// says the choice in its config line and JSON; the per-rank layouts refuse it by option name.
/// </summary>
public sealed class BenchCombineOptionTests
{
    // As BenchCeilingBytesTests: 2 ranks, experts 0, 1 on rank 0 and 2, 3 on rank 1, top-2, 3 tokens, 1024 B rows.
    private static readonly int[][] Routing =
    [
        [0, 2, /* t1 */ 2, 3, /* t2 */ 1, -1],
        [0, 1, /* t1 */ 3, 2, /* t2 */ -1, -1],
    ];

    [Fact]
    public void Per_rank_partials_send_one_row_home_per_token_and_expert_rank()
    {
        EpConfig config = new EpConfig(EpMode.LowLatency, 4, 512, 2, 3, EpLayout.ExpertMajor, EpDataType.BFloat16)
        {
            CombineReduction = EpCombineReduction.PerRank,
        };
        Traffic traffic = Traffic.Compute(Workload.FromRouting(config, 2, Routing));
        PeerCopyBytes bytes = PeerCopyBytes.From(traffic, config);
        // Rank 1 holds rank 0's t0 (one slot) and t1 (two slots): 2 partials home, not 3 rows; rank 0 holds rank 1's t0 (two slots): 1.
        Assert.Equal(new long[] { 2, 0 }, bytes.CombineRows[1]);
        Assert.Equal(new long[] { 0, 1 }, bytes.CombineRows[0]);
        Assert.Equal(3 * 1024, bytes.CombineBytes);
        Assert.Equal(traffic.RemoteCombineBytes, bytes.CombineBytes);
        // Remote and local alike: one row per (token, rank holding one of its experts), the dispatch's pairs.
        Assert.Equal(traffic.Pairs, traffic.CombineRows);
        Assert.Contains("(token, expert rank) partial rows sent home", traffic.CombineFormula(config), StringComparison.Ordinal);
    }

    [Fact]
    public void A_host_run_with_per_rank_partials_validates_and_reports_the_choice()
    {
        BenchCli.InTempFolder(folder =>
        {
            string json = Path.Combine(folder, "run.json");
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--combine", "per-rank", "--tokens", "8", "--hidden", "512",
                "--iters", "2", "--warmup", "0", "--steady-ops", "0", "--validate", "--json", json);
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("combine=per-rank", run.Output, StringComparison.Ordinal);
            Assert.Contains("validation: passed", run.Output, StringComparison.Ordinal);
            Assert.Contains("(token, expert rank) partial rows sent home", run.Output, StringComparison.Ordinal);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            Assert.Equal("per-rank", doc.RootElement.GetProperty("combine").GetString());
        });
    }

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, "--layout rank-major")]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, "--layout flat")]
    public void Per_rank_partials_outside_expert_major_are_refused_by_option_name(EpMode mode, EpLayout layout, string named)
    {
        string? message = new BenchOptions { Mode = mode, Layout = layout, Combine = EpCombineReduction.PerRank }.Check();
        Assert.Equal($"--combine per-rank sends per-rank partials of --layout expert-major only; {named} already sends one row per (token, rank): leave --combine out.", message);
        Assert.Null(new BenchOptions { Mode = mode, Layout = layout, Combine = EpCombineReduction.PerSlot }.Check());
    }

    [Fact]
    public void Procs_children_get_the_combine_choice()
    {
        var options = new BenchOptions { Procs = 2, Combine = EpCombineReduction.PerRank };
        var args = ProcsOptions.ChildArguments(options, 0, "file:x", "r.json");
        int at = args.IndexOf("--combine");
        Assert.True(at >= 0 && args[at + 1] == "per-rank", string.Join(' ', args));
    }
}
