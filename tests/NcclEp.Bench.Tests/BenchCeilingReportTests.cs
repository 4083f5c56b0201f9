using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// The ceiling and the numSms sweep in what a run prints and writes: on the Host backend (a real run: the ceiling
/// says why it is not measured) and, from figures made up here, the measured case the Cuda backend produces.
/// </summary>
public sealed class BenchCeilingReportTests
{
    private const string SmsHeader = "| numSms | blocks | dispatch µs | combine µs | dispatch GB/s | combine GB/s | % of ceiling (dispatch/combine) | validation |";
    private const string HostNotMeasured = "peer-copy ceiling: not measured: the Host backend's ranks are threads without GPUs";

    [Fact]
    public void Host_sms_sweep_prints_a_row_per_value_says_num_sms_has_no_effect_and_why_there_is_no_ceiling()
    {
        string folder = BenchCli.TempFolder();
        try
        {
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--mode", "ht", "--tokens", "64", "--hidden", "512",
                "--iters", "3", "--warmup", "1", "--validate", "--sms-sweep", "8,16", "--no-terminal-chart",
                "--markdown", "out.md", "--json", "out.json");
            Assert.True(run.ExitCode == 0, run.Describe());
            string[] lines = run.Output.Split('\n');
            Assert.Contains("note: --sms-sweep on the Host backend: numSms has no effect there", run.Output, StringComparison.Ordinal);
            Assert.Contains(lines, l => l.StartsWith(SmsHeader, StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("| 8 ", StringComparison.Ordinal) && l.EndsWith("- / - |     passed |", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("| 16 ", StringComparison.Ordinal) && l.EndsWith("- / - |     passed |", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith(HostNotMeasured, StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("ceiling dispatch bytes = Σ over (rank, other rank)", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("64 tokens/rank, numSms 16: back-to-back", StringComparison.Ordinal));

            string markdown = File.ReadAllText(Path.Combine(folder, "out.md"));
            Assert.Contains("## Peer-copy ceiling\n\n- " + HostNotMeasured, markdown, StringComparison.Ordinal);
            Assert.Contains(SmsHeader, markdown, StringComparison.Ordinal);
            Assert.Contains("- at 64 tokens/rank: ceiling combine bytes = ", markdown, StringComparison.Ordinal);

            using JsonDocument json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "out.json")));
            JsonElement root = json.RootElement;
            Assert.Equal(new[] { 8, 16 }, root.GetProperty("sms_sweep").EnumerateArray().Select(e => e.GetInt32()).ToArray());
            JsonElement[] results = root.GetProperty("results").EnumerateArray().ToArray();
            Assert.Equal(new[] { 8, 16 }, results.Select(r => r.GetProperty("num_sms").GetInt32()).ToArray());
            foreach (JsonElement r in results)
            {
                JsonElement ceiling = r.GetProperty("ceiling");
                Assert.False(ceiling.GetProperty("measured").GetBoolean());
                Assert.StartsWith("the Host backend's ranks", ceiling.GetProperty("not_measured_because").GetString(), StringComparison.Ordinal);
                Assert.Equal(JsonValueKind.Null, ceiling.GetProperty("dispatch").GetProperty("median_us").ValueKind);
                Assert.Equal(JsonValueKind.Null, r.GetProperty("dispatch").GetProperty("percent_of_ceiling").ValueKind);
                Assert.Equal(r.GetProperty("dispatch").GetProperty("remote_bytes").GetInt64(), ceiling.GetProperty("dispatch").GetProperty("remote_bytes").GetInt64());
                Assert.Equal(r.GetProperty("combine").GetProperty("remote_bytes").GetInt64(), ceiling.GetProperty("combine").GetProperty("remote_bytes").GetInt64());
                Assert.True(ceiling.GetProperty("dispatch").GetProperty("remote_bytes").GetInt64() > 0);
                Assert.Equal(JsonValueKind.Null, r.GetProperty("dispatch_blocks").ValueKind);  // no launches on the Host backend
                Assert.Equal(JsonValueKind.Null, r.GetProperty("combine_blocks").ValueKind);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Host_single_run_has_a_percent_of_ceiling_column_and_the_not_measured_line()
    {
        string folder = BenchCli.TempFolder();
        try
        {
            // --routing separate: the phase names are "update", "dispatch", "combine" (fused labels the dispatch "dispatch (incl. routing)").
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--tokens", "8", "--hidden", "512", "--iters", "2", "--warmup", "0", "--routing", "separate");
            Assert.True(run.ExitCode == 0, run.Describe());
            string[] lines = run.Output.Split('\n');
            Assert.Contains(lines, l => l.StartsWith("| phase    | median µs |", StringComparison.Ordinal) && l.EndsWith("| % of ceiling |", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith("| dispatch |", StringComparison.Ordinal) && l.EndsWith("|            - |", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.StartsWith(HostNotMeasured, StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains("ceiling (peer copy)", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Measured_ceiling_gives_percent_of_ceiling_and_the_copy_rate_in_every_output()
    {
        // Made-up figures: the copies take 50 µs (dispatch bytes) and 100 µs (combine bytes), the phases 100 and 400.
        var options = new BenchOptions { Tokens = 3, Hidden = 512, TopK = 2, Experts = 4, SmsSweep = [8, 16] };
        SizeResult[] results = [Result(options, 8, 32), Result(options, 16, 16)];
        var context = new ArtifactContext(options, "cuda (made up for the test)", ["--sms-sweep", "8,16"], results, DateTimeOffset.UnixEpoch);

        SizeResult first = results[0];
        Assert.Equal(50.0, first.DispatchPercentOfCeiling, 9);
        Assert.Equal(25.0, first.CombinePercentOfCeiling, 9);
        Assert.Equal(first.Ceiling.Bytes.DispatchBytes / 50e3, first.Ceiling.DispatchGBps, 12);

        string markdown = MarkdownReport.Render(context, chartLink: null);
        Assert.Contains("| 8      |     32 |", markdown, StringComparison.Ordinal);
        Assert.Contains("50.0% / 25.0% |", markdown, StringComparison.Ordinal);
        Assert.Contains("| numSms | dispatch copy µs | dispatch remote MB | dispatch copy GB/s | dispatch % of ceiling |", markdown, StringComparison.Ordinal);
        Assert.Contains("- peer-copy ceiling: cuMemcpyPeerAsync of each rank's remote rows to each peer", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("not measured", markdown, StringComparison.Ordinal);

        string html = HtmlReport.Render(context);
        Assert.Contains("<td>50.0% / 25.0%</td>", html, StringComparison.Ordinal);
        Assert.Contains("<th>dispatch copy GB/s</th>", html, StringComparison.Ordinal);

        string folder = BenchCli.TempFolder();
        try
        {
            string path = Path.Combine(folder, "out.json");
            JsonReport.Write(path, "cuda", context.BackendLine, context.Args, options, results, ValidationSummary.Skipped);
            using JsonDocument json = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement r = json.RootElement.GetProperty("results")[0];
            Assert.Equal(32, r.GetProperty("blocks").GetInt32());
            Assert.Equal(50.0, r.GetProperty("dispatch").GetProperty("percent_of_ceiling").GetDouble(), 9);
            Assert.Equal(25.0, r.GetProperty("combine").GetProperty("percent_of_ceiling").GetDouble(), 9);
            JsonElement ceiling = r.GetProperty("ceiling");
            Assert.True(ceiling.GetProperty("measured").GetBoolean());
            Assert.Equal(JsonValueKind.Null, ceiling.GetProperty("not_measured_because").ValueKind);
            Assert.Equal(50.0, ceiling.GetProperty("dispatch").GetProperty("median_us").GetDouble(), 9);
            Assert.Equal(first.Ceiling.DispatchGBps, ceiling.GetProperty("dispatch").GetProperty("gbps_all_ranks").GetDouble(), 12);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Sized_launches_show_their_dispatch_and_combine_blocks_in_the_sweep_and_the_json()
    {
        var options = new BenchOptions { Tokens = 1, Hidden = 512, TopK = 2, Experts = 4, SmsSweep = [32, 132] };
        SizeResult sized = Result(options, 132, 132) with { PhaseBlocks = (4, 14) };
        SizeResult whole = Result(options, 32, 32) with { PhaseBlocks = (32, 32) };
        Assert.Equal("4/14", SmsSweepTable.BlocksCell(sized));
        Assert.Equal("32", SmsSweepTable.BlocksCell(whole));
        Assert.Equal("-", SmsSweepTable.BlocksCell(Result(options, 8, 0)));

        string folder = BenchCli.TempFolder();
        try
        {
            string path = Path.Combine(folder, "out.json");
            JsonReport.Write(path, "cuda", "backend: cuda", [], options, [sized], ValidationSummary.Skipped);
            using JsonDocument json = JsonDocument.Parse(File.ReadAllBytes(path));
            JsonElement r = json.RootElement.GetProperty("results")[0];
            Assert.Equal(132, r.GetProperty("blocks").GetInt32());
            Assert.Equal(4, r.GetProperty("dispatch_blocks").GetInt32());
            Assert.Equal(14, r.GetProperty("combine_blocks").GetInt32());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A result with a measured ceiling (and, as the Cuda backend measures both, link), on a generated routing of the options' size.</summary>
    private static SizeResult Result(BenchOptions options, int numSms, int blocks)
    {
        EpConfig config = options.ToConfig(new RunPoint(options.Tokens, numSms));
        Traffic traffic = Traffic.Compute(Workload.Generate(config, 2, seed: 3));
        var ceiling = new CeilingResult(null, new PhaseStats(50, 55), new PhaseStats(100, 110), PeerCopyBytes.From(traffic, config));
        return new SizeResult(config, 2, 5, 1, new PhaseStats(10, 12), new PhaseStats(100, 120), new PhaseStats(400, 450), traffic,
            ValidationSummary.Skipped, ceiling, blocks)
        {
            Link = new LinkResult(null, new PhaseStats(2700, 2710)),
            Baseline = new BaselineResult(null, 150, 500),
        };
    }
}
