using System;
using System.IO;
using System.Text.Json;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// <c>--routing fused|separate</c>: in low-latency mode the timed dispatch takes the routing itself by default (issue 19:
/// a decode step's routing and dispatch in one launch), so no update is timed and the dispatch is labelled as including
/// it; <c>--routing separate</c> keeps Update, then Dispatch, each timed; high-throughput mode is separate by default.
/// Either way a host run validates bit for bit and the choice is in the config line, the JSON and the procs children.
/// </summary>
public sealed class BenchRoutingOptionTests
{
    [Theory]
    [InlineData(EpMode.LowLatency, null, true)]
    [InlineData(EpMode.HighThroughput, null, false)]
    [InlineData(EpMode.LowLatency, false, false)]
    [InlineData(EpMode.HighThroughput, true, true)]
    public void Routing_is_fused_by_default_in_low_latency_mode_only(EpMode mode, bool? given, bool fused) =>
        Assert.Equal(fused, new BenchOptions { Mode = mode, FusedRouting = given }.RoutesInDispatch);

    [Fact]
    public void A_low_latency_host_run_times_the_dispatch_with_its_routing_and_no_update()
    {
        BenchCli.InTempFolder(folder =>
        {
            string json = Path.Combine(folder, "run.json");
            CliResult run = Run(folder, json);
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("routing=fused", run.Output, StringComparison.Ordinal);
            Assert.Contains("dispatch (incl. routing)", run.Output, StringComparison.Ordinal);
            Assert.Contains("validation: passed", run.Output, StringComparison.Ordinal);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            Assert.Equal("fused", doc.RootElement.GetProperty("routing").GetString());
            JsonElement result = doc.RootElement.GetProperty("results")[0];
            Assert.Equal(JsonValueKind.Null, result.GetProperty("update").GetProperty("median_us").ValueKind);
            Assert.True(result.GetProperty("dispatch").GetProperty("median_us").GetDouble() > 0);
        });
    }

    [Fact]
    public void Routing_separate_times_the_update_and_the_dispatch_apart()
    {
        BenchCli.InTempFolder(folder =>
        {
            string json = Path.Combine(folder, "run.json");
            CliResult run = Run(folder, json, "--routing", "separate");
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("routing=separate", run.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("dispatch (incl. routing)", run.Output, StringComparison.Ordinal);
            Assert.Contains("validation: passed", run.Output, StringComparison.Ordinal);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            Assert.Equal("separate", doc.RootElement.GetProperty("routing").GetString());
            Assert.True(doc.RootElement.GetProperty("results")[0].GetProperty("update").GetProperty("median_us").GetDouble() > 0);
        });
    }

    [Fact]
    public void A_bad_routing_is_refused_with_the_choices()
    {
        BenchCli.InTempFolder(folder =>
        {
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--routing", "both");
            Assert.Equal(2, run.ExitCode);
            Assert.Contains("'both' not recognized", run.Output, StringComparison.Ordinal);
            Assert.Contains("'fused'", run.Output, StringComparison.Ordinal);
            Assert.Contains("'separate'", run.Output, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void Procs_children_get_the_routing_in_force()
    {
        var options = new BenchOptions { Procs = 2, Mode = EpMode.LowLatency };
        var args = ProcsOptions.ChildArguments(options, 0, "file:x", "r.json");
        int at = args.IndexOf("--routing");
        Assert.True(at >= 0 && args[at + 1] == "fused", string.Join(' ', args));
        args = ProcsOptions.ChildArguments(options with { FusedRouting = false }, 0, "file:x", "r.json");
        Assert.Equal("separate", args[args.IndexOf("--routing") + 1]);
    }

    [Fact]
    public void A_child_rank_reports_an_update_it_did_not_time_as_null_and_reads_it_back()
    {
        BenchCli.InTempFolder(folder =>
        {
            string path = Path.Combine(folder, "rank.json");
            var size = new RankSize(4, PhaseStats.NotRun, new PhaseStats(10, 12), new PhaseStats(20, 25), default, null);
            ProcsResults.Write(path, new RankReport(0, 2, 0, "fabric", null, [size]));
            RankReport? read = ProcsResults.TryRead(path);
            Assert.NotNull(read);
            Assert.False(read.Sizes[0].Update.Ran);
            Assert.Equal(new PhaseStats(10, 12), read.Sizes[0].Dispatch);
        });
    }

    private static CliResult Run(string folder, string json, params string[] extra) =>
        BenchCli.Run(folder, [.. new[] { "--backend", "host", "--mode", "ll", "--tokens", "8", "--hidden", "512", "--iters", "2", "--warmup", "0",
            "--steady-ops", "0", "--validate", "--json", json }, .. extra]);
}
