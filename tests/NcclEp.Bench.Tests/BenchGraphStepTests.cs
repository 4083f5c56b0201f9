using System;
using System.IO;
using System.Text.Json;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// <c>--graph-step</c> (issue 19's graph target): the option is parsed, listed in the help and refused by name where a
/// captured step cannot hold the experts (FP8, <c>--host-experts</c>) or the ranks are processes; a Host run captures,
/// replays (allocating nothing) and checks the step, and writes its figures; the check of the last replay fails on a
/// corrupted output and that fails the run's validation; the line, table, Markdown and JSON carry synthetic figures.
/// </summary>
public sealed class BenchGraphStepTests
{
    [Fact]
    public void The_options_refuse_fp8_host_experts_and_processes_by_name_and_accept_either_backend()
    {
        var graph = new BenchOptions { GraphStep = true };
        Assert.Null(graph.Check());
        Assert.Null((graph with { Backend = BackendChoice.Host }).Check());
        Assert.Null((graph with { Backend = BackendChoice.Cuda, FusedRouting = false, Layout = EpLayout.RankMajor }).Check());
        Assert.StartsWith("--graph-step does not go with --dtype fp8", (graph with { Fp8 = true }).Check(), StringComparison.Ordinal);
        Assert.Contains("--host-experts runs them on the host", (graph with { HostExperts = true }).Check(), StringComparison.Ordinal);
        Assert.Equal("--graph-step runs with the ranks as threads of this process; leave --procs out.",
            (graph with { Backend = BackendChoice.Cuda, Procs = 2 }).Check());
        Assert.EndsWith(" graph-step", graph.Describe(), StringComparison.Ordinal);
        Assert.DoesNotContain("graph-step", new BenchOptions().Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_command_line_refuses_fp8_with_the_option_named_and_the_help_lists_it()
    {
        BenchCli.InTempFolder(folder =>
        {
            string refused = BenchCli.RunRefused(folder, "--backend", "host", "--graph-step", "--dtype", "fp8", "--tokens", "4", "--hidden", "512");
            Assert.Contains("error: --graph-step does not go with --dtype fp8", refused, StringComparison.Ordinal);

            CliResult help = BenchCli.Run(folder, "--help");
            Assert.True(help.ExitCode == 0, help.Output);
            Assert.Contains("--graph-step", help.Output, StringComparison.Ordinal);
        });
    }

    [Theory]
    [InlineData("expert-major", "fused", 3)]     // routed dispatch, experts, combine
    [InlineData("rank-major", "separate", 4)]    // update, dispatch, experts, combine
    public void A_host_run_replays_the_step_without_allocating_checks_the_last_replay_and_writes_its_figures(string layout, string routing, int nodes)
    {
        BenchCli.InTempFolder(folder =>
        {
            string json = Path.Combine(folder, "run.json");
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--mode", "ll", "--layout", layout, "--routing", routing, "--tokens", "8",
                "--hidden", "512", "--iters", "4", "--warmup", "1", "--steady-ops", "0", "--graph-step", "--validate", "--json", json);
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("graph step (routing+dispatch+experts+combine): median ", run.Output, StringComparison.Ordinal);
            Assert.Contains("back-to-back ", run.Output, StringComparison.Ordinal);
            Assert.Contains($"4 replays [slowest rank; routing {routing}; {nodes} graph nodes; replays allocated 0 B; last replay matches the reference bit for bit]",
                run.Output, StringComparison.Ordinal);
            Assert.Contains("validation: passed", run.Output, StringComparison.Ordinal);

            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement g = doc.RootElement.GetProperty("results")[0].GetProperty("graph_step");
            Assert.Equal(routing, g.GetProperty("routing").GetString());
            Assert.Equal(4, g.GetProperty("replays").GetInt32());
            Assert.Equal(nodes, g.GetProperty("nodes").GetInt32());
            Assert.Equal(0, g.GetProperty("replay_allocated_bytes").GetInt64());
            Assert.Equal("passed", g.GetProperty("last_replay").GetString());
            Assert.False(g.TryGetProperty("first_mismatch", out _));
            double median = g.GetProperty("median_us").GetDouble();
            Assert.True(median > 0, g.ToString());
            Assert.True(g.GetProperty("p90_us").GetDouble() >= median, g.ToString());
            Assert.True(g.GetProperty("back_to_back_us").GetDouble() > 0, g.ToString());
        });
    }

    [Fact]
    public void The_check_of_the_last_replay_fails_on_a_corrupted_output_and_fails_the_runs_validation()
    {
        var options = new BenchOptions { Backend = BackendChoice.Host, Tokens = 8, Hidden = 512, GraphStep = true };
        EpConfig config = options.ToConfig(options.Tokens);
        Workload work = Workload.Generate(config, options.Ranks, options.Seed);
        using var backend = new HostBenchBackend("test");
        using var threads = new RankThreads(options.Ranks);
        EpGroup[] groups = backend.CreateGroups(config, options.Ranks, options.GroupOptions(), threads);
        var results = new GraphStepProbe.Result[options.Ranks];
        var clean = new string?[options.Ranks];
        var corrupted = new string?[options.Ranks];
        try
        {
            threads.Run((rank, barrier) =>
            {
                using var state = new RankState(backend, groups[rank], work, rank) { RoutedDispatch = true };
                results[rank] = GraphStepProbe.Replay(state, barrier.Wait, warmups: 1, replays: 3);
                clean[rank] = GraphStepProbe.CheckLastReplay(state, work);
                if (rank == 1)
                {
                    // Token 5, element 3 of rank 1's combined rows: one bit of the bf16 flipped.
                    var row = new byte[config.RowBytes];
                    state.CombinedBuffer.Download<byte>(row, 5L * config.RowBytes);
                    row[6] ^= 0x01;
                    state.CombinedBuffer.Upload<byte>(row, 5L * config.RowBytes);
                }
                corrupted[rank] = GraphStepProbe.CheckLastReplay(state, work);
            });
        }
        finally
        {
            threads.Run(rank => groups[rank].Dispose());
        }

        Assert.All(clean, Assert.Null);
        Assert.All(results, r => Assert.Equal(0, r.AllocatedBytes));
        Assert.All(results, r => Assert.Equal(3, r.Replays));
        Assert.Null(corrupted[0]);
        Assert.StartsWith("graph step, last replay: rank 1: combine", corrupted[1], StringComparison.Ordinal);
        Assert.Contains("combine: token 5 element 3: expected 0x", corrupted[1], StringComparison.Ordinal);

        GraphStepProbe.Result failed = GraphStepProbe.Slowest([results[0], results[1] with { Mismatch = corrupted[1] }]);
        ValidationSummary run = GraphStepProbe.WithCheck(ValidationSummary.Skipped, failed);
        Assert.False(run.Passed);
        Assert.Equal("validation: FAILED: " + corrupted[1], run.Line());
        Assert.Same(ValidationSummary.Skipped, GraphStepProbe.WithCheck(ValidationSummary.Skipped, results[0]));
    }

    [Fact]
    public void Over_ranks_each_time_is_the_slowest_and_the_first_mismatch_is_kept()
    {
        var a = new GraphStepProbe.Result(new PhaseStats(20, 31), 18, 50, 3, 0, null);
        var b = new GraphStepProbe.Result(new PhaseStats(22, 25), 17, 50, 3, 64, "graph step, last replay: rank 1: x");
        Assert.Equal(new GraphStepProbe.Result(new PhaseStats(22, 31), 18, 50, 3, 64, "graph step, last replay: rank 1: x"), GraphStepProbe.Slowest([a, b]));
        Assert.True(GraphStepProbe.Slowest([a, a]).Passed);
    }

    [Fact]
    public void The_line_table_markdown_and_json_carry_the_figures()
    {
        var passed = new GraphStepProbe.Result(new PhaseStats(21.2, 24.6), 18.7, 50, 3, 0, null);
        Assert.Equal(
            "graph step (routing+dispatch+experts+combine): median 21.2 µs, p90 24.6 µs, back-to-back 18.7 µs per step, 50 replays " +
            "[slowest rank; routing fused; 3 graph nodes; replays allocated 0 B; last replay matches the reference bit for bit]",
            GraphStepProbe.Describe(passed, routingInDispatch: true));
        var failed = passed with { Mismatch = "graph step, last replay: rank 0: combine token 2 differs" };
        Assert.EndsWith("routing separate; 3 graph nodes; replays allocated 0 B; last replay FAILED: graph step, last replay: rank 0: combine token 2 differs]",
            GraphStepProbe.Describe(failed, routingInDispatch: false), StringComparison.Ordinal);

        SizeResult result = Result(passed);
        Assert.Equal(["128", "0", "fused", "3", "50", "21.2", "24.6", "18.7", "0", "bit-exact"], Assert.Single(GraphStepTable.Rows([result])));
        Assert.Equal("MISMATCH", Assert.Single(GraphStepTable.Rows([Result(failed)]))[^1]);
        Assert.Empty(GraphStepTable.Rows([result with { GraphStep = null }]));
        Assert.Empty(GraphStepTable.Lines([result with { GraphStep = null }]));
        Assert.Equal(["graph step (routing+dispatch+experts+combine): " + GraphStepProbe.Method], GraphStepTable.Lines([result]));
        Assert.Equal("graph step at 128 tokens/rank: graph step, last replay: rank 0: combine token 2 differs", GraphStepTable.Lines([Result(failed)])[1]);

        BenchCli.InTempFolder(folder =>
        {
            string json = Path.Combine(folder, "run.json");
            var options = new BenchOptions { Tokens = 128, Hidden = 7168, TopK = 8, Experts = 256, GraphStep = true };
            JsonReport.Write(json, "cuda", "test", ["--graph-step"], options, [result, Result(failed)], ValidationSummary.Skipped);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement g = doc.RootElement.GetProperty("results")[0].GetProperty("graph_step");
            Assert.Equal(GraphStepProbe.Method, g.GetProperty("method").GetString());
            Assert.Equal("fused", g.GetProperty("routing").GetString());
            Assert.Equal(21.2, g.GetProperty("median_us").GetDouble());
            Assert.Equal(24.6, g.GetProperty("p90_us").GetDouble());
            Assert.Equal(18.7, g.GetProperty("back_to_back_us").GetDouble());
            Assert.Equal(50, g.GetProperty("replays").GetInt32());
            Assert.Equal(3, g.GetProperty("nodes").GetInt32());
            Assert.Equal(0, g.GetProperty("replay_allocated_bytes").GetInt64());
            Assert.Equal("passed", g.GetProperty("last_replay").GetString());
            JsonElement f = doc.RootElement.GetProperty("results")[1].GetProperty("graph_step");
            Assert.Equal("failed", f.GetProperty("last_replay").GetString());
            Assert.Equal(failed.Mismatch, f.GetProperty("first_mismatch").GetString());

            string markdown = MarkdownReport.Render(new ArtifactContext(options, "cuda (test)", ["--graph-step"], [result], DateTimeOffset.UnixEpoch), null);
            Assert.Contains("## Captured graph step", markdown, StringComparison.Ordinal);
            Assert.Contains("| 128         |      0 |   fused |     3 |      50 |      21.2 |   24.6 |", markdown, StringComparison.Ordinal);
            Assert.Contains("- graph step (routing+dispatch+experts+combine): one EpGraph per rank", markdown, StringComparison.Ordinal);
            string without = MarkdownReport.Render(new ArtifactContext(options, "cuda (test)", [], [result with { GraphStep = null }], DateTimeOffset.UnixEpoch), null);
            Assert.DoesNotContain("## Captured graph step", without, StringComparison.Ordinal);
        });
    }

    /// <summary>A 128-token LL result of the shape with <paramref name="graphStep"/>; the other figures are placeholders.</summary>
    private static SizeResult Result(GraphStepProbe.Result graphStep)
    {
        var config = new EpConfig(EpMode.LowLatency, 256, 7168, 8, 128, EpLayout.ExpertMajor);
        var ids = new int[2][];
        for (int r = 0; r < 2; r++)
        {
            ids[r] = new int[128 * 8];
            for (int i = 0; i < ids[r].Length; i++) ids[r][i] = ((i % 8) * 32) + (i / 8 % 32);  // 8 distinct experts per token
        }
        Traffic traffic = Traffic.Compute(Workload.FromRouting(config, 2, ids));
        return new SizeResult(config, 2, 50, 10, PhaseStats.NotRun, new PhaseStats(12, 13), new PhaseStats(15, 16), traffic,
            ValidationSummary.Skipped, CeilingResult.Skipped("not measured in this test", PeerCopyBytes.From(traffic, config)), 132)
        {
            RoutingInDispatch = true,
            GraphStep = graphStep,
        };
    }
}
