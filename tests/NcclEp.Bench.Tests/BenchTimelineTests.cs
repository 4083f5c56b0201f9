using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using NcclEp.Bench;
using NcclEp.Cuda;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// <c>--timeline</c> (issue 19): the option is refused where it cannot run, by its name; one rank's block records are
/// summarised per kernel and role (starts, ends, median and slowest block, relative to the update's first start) with
/// the gaps between consecutive kernels, on synthetic records with hand-worked figures; the table, Markdown and JSON
/// carry them.
/// </summary>
public sealed class BenchTimelineTests
{
    private const int Update = 0, Offsets = 1, DispatchOdd = 2, CombineOdd = 3, DispatchEven = 4;
    private const int Both = 0, Send = 1, Receive = 2;

    /// <summary>A record at ns times (start, end; end 0: not ended).</summary>
    private static BlockRecord Block(int slot, int block, ulong start, ulong end, int role = Both, int seq = 0, int sm = 0) =>
        new(0, slot, block, start, end, sm, seq, role);

    /// <summary>An operation: update (2 blocks), offsets (1), dispatch seq 1 (3 senders, 2 receivers), combine seq 1 (1 block).</summary>
    private static List<BlockRecord> Operation() =>
    [
        Block(Update, 0, 1_000, 3_000, sm: 5),
        Block(Update, 1, 1_200, 3_400, sm: 6),
        Block(Offsets, 0, 4_000, 5_000, sm: 7),
        Block(DispatchOdd, 0, 6_000, 9_000, Send, 1, sm: 10),
        Block(DispatchOdd, 1, 6_100, 8_000, Send, 1, sm: 11),
        Block(DispatchOdd, 2, 6_300, 12_000, Send, 1, sm: 12),
        Block(DispatchOdd, 3, 6_050, 20_000, Receive, 1, sm: 13),
        Block(DispatchOdd, 4, 6_400, 21_000, Receive, 1, sm: 14),
        Block(CombineOdd, 0, 23_000, 25_000, Both, 1, sm: 15),
    ];

    [Fact]
    public void Each_role_is_summarised_in_us_after_the_update_kernels_first_block_started()
    {
        OperationTimeline t = OperationTimeline.Of(3, Operation());
        Assert.Equal(3, t.Rank);
        Assert.Equal(["update", "offsets", "dispatch", "combine"], t.Kernels.Select(k => k.Name));

        KernelTimeline update = t.Kernels[0];
        Assert.Equal((0, 0.0, 2.4), (update.Seq, update.StartUs, update.EndUs));
        RoleTimeline both = Assert.Single(update.Roles);
        Assert.Equal(new RoleTimeline("both", 2, 0, 0, 0.2, 2.0, 2.4, 2.1, 1, 6, 2.2), Rounded(both));  // durations 2.0 and 2.2: median their mean

        KernelTimeline dispatch = t.Kernels[2];
        Assert.Equal((1, 5.0, 20.0), (dispatch.Seq, dispatch.StartUs, dispatch.EndUs));
        Assert.Equal(["send", "receive"], dispatch.Roles.Select(r => r.Role));
        // Senders last 3.0, 1.9 and 5.7 µs (median of an odd count: the middle one); receivers 13.95 and 14.6.
        Assert.Equal(new RoleTimeline("send", 3, 0, 5.0, 5.3, 7.0, 11.0, 3.0, 2, 12, 5.7), Rounded(dispatch.Roles[0]));
        Assert.Equal(new RoleTimeline("receive", 2, 0, 5.05, 5.4, 19.0, 20.0, 14.275, 4, 14, 14.6), Rounded(dispatch.Roles[1]));
    }

    [Fact]
    public void The_gaps_run_from_the_last_block_end_of_one_kernel_to_the_first_start_of_the_next()
    {
        OperationTimeline t = OperationTimeline.Of(0, Operation());
        Assert.Equal(
            [new KernelGap("update", "offsets", 0.6), new KernelGap("offsets", "dispatch", 1.0), new KernelGap("dispatch", "combine", 2.0)],
            t.Gaps.Select(g => g with { Us = Math.Round(g.Us, 9) }));
    }

    [Fact]
    public void A_kernel_that_did_not_run_has_no_gap_of_its_own_and_overlapping_kernels_give_a_negative_gap()
    {
        List<BlockRecord> records = Operation().Where(r => r.Slot != Offsets).ToList();
        records.Add(Block(CombineOdd, 1, 19_500, 24_000, Both, 1));  // starts before the dispatch's last block ended
        OperationTimeline t = OperationTimeline.Of(0, records);
        Assert.Equal(["update", "dispatch", "combine"], t.Kernels.Select(k => k.Name));
        Assert.Equal([("update", "dispatch", 2.6), ("dispatch", "combine", -1.5)], t.Gaps.Select(g => (g.From, g.To, Math.Round(g.Us, 9))));
    }

    [Fact]
    public void Blocks_that_did_not_end_are_counted_and_left_out_of_the_ends_and_durations()
    {
        List<BlockRecord> records = Operation();
        records.Add(Block(DispatchOdd, 5, 7_000, 0, Send, 1, sm: 20));
        records.Add(Block(CombineOdd, 1, 23_500, 0, Both, 1));
        records.Add(Block(CombineOdd, 2, 23_000, 0, Both, 1));
        records.RemoveAll(r => r.Slot == CombineOdd && r.Ended);
        OperationTimeline t = OperationTimeline.Of(0, records);
        RoleTimeline send = t.Kernels[2].Roles[0];
        Assert.Equal(new RoleTimeline("send", 4, 1, 5.0, 6.0, 7.0, 11.0, 3.0, 2, 12, 5.7), Rounded(send));
        RoleTimeline combine = Assert.Single(t.Kernels[3].Roles);
        Assert.Equal((2, 2, 22.0, 22.5), (combine.Blocks, combine.NotEnded, combine.FirstStartUs, combine.LastStartUs));
        Assert.True(double.IsNaN(combine.FirstEndUs) && double.IsNaN(combine.LastEndUs) && double.IsNaN(combine.MedianBlockUs));
        Assert.Equal(-1, combine.SlowestBlock);
        Assert.True(double.IsNaN(t.Kernels[3].EndUs));
        Assert.Equal(2.0, t.Gaps[^1].Us, 9);  // into the combine: from the dispatch's last end, which did end
    }

    [Fact]
    public void With_both_parities_recorded_the_later_operation_is_summarised()
    {
        List<BlockRecord> records = Operation();
        records.Add(Block(DispatchEven, 0, 30_000, 31_000, Both, 2, sm: 40));
        KernelTimeline dispatch = OperationTimeline.Of(0, records).Kernels[2];
        Assert.Equal(2, dispatch.Seq);
        RoleTimeline only = Assert.Single(dispatch.Roles);
        Assert.Equal((1, 29.0, 40), (only.Blocks, only.FirstStartUs, only.SlowestSm));
    }

    [Fact]
    public void Without_an_update_the_operations_first_block_is_the_origin_and_no_records_give_no_kernels()
    {
        OperationTimeline t = OperationTimeline.Of(0, Operation().Where(r => r.Slot >= DispatchOdd).ToList());
        Assert.Equal(0.0, t.Kernels[0].StartUs);  // the dispatch's first block, at 6 000 ns
        Assert.Equal(2.0, t.Kernels[1].Roles[0].MedianBlockUs, 9);
        Assert.Equal(17.0, t.Kernels[1].StartUs, 9);
        OperationTimeline empty = OperationTimeline.Of(1, []);
        Assert.Empty(empty.Kernels);
        Assert.Empty(empty.Gaps);
        Assert.Throws<ArgumentOutOfRangeException>(() => OperationTimeline.KernelOf(KernelBlockTimeline.Slots));
    }

    [Fact]
    public void The_option_is_refused_by_name_where_it_cannot_run()
    {
        var cuda = new BenchOptions { Backend = BackendChoice.Cuda, Timeline = true };
        Assert.Null(cuda.Check());
        Assert.Equal(BlockTimelineProbe.HostRefusal, (cuda with { Backend = BackendChoice.Host }).Check());
        Assert.Contains("--timeline runs with the ranks as threads of this process; leave --procs out.", (cuda with { Procs = 2 }).Check(), StringComparison.Ordinal);
        Assert.Contains("--timeline records ranks 0..7 only", (cuda with { Ranks = 16, Experts = 16 }).Check(), StringComparison.Ordinal);
        Assert.Null((cuda with { Ranks = 8, Experts = 16 }).Check());
        Assert.Contains(" timeline", cuda.Describe(), StringComparison.Ordinal);

        var auto = new BenchOptions { Timeline = true };
        Assert.Equal(BlockTimelineProbe.HostRefusal + " (--backend auto found no usable GPU)", BlockTimelineProbe.RefusalOn(auto, hostBackend: true));
        Assert.Null(BlockTimelineProbe.RefusalOn(auto, hostBackend: false));
        Assert.Null(BlockTimelineProbe.RefusalOn(auto with { Timeline = false }, hostBackend: true));
    }

    [Fact]
    public void The_host_backend_refuses_the_option_before_running()
    {
        BenchCli.InTempFolder(folder =>
        {
            string refused = BenchCli.RunRefused(folder, "--backend", "host", "--timeline", "--tokens", "4", "--hidden", "512");
            Assert.Contains("error: --timeline needs --backend cuda", refused, StringComparison.Ordinal);
        });
    }

    [Fact]
    public void The_table_markdown_and_json_carry_each_rank_kernel_and_role()
    {
        var config = new EpConfig(EpMode.LowLatency, 4, 512, 2, 3, EpLayout.ExpertMajor, EpDataType.BFloat16);
        int[][] routing = [[0, 2, 2, 3, 1, -1], [0, 1, 3, 2, -1, -1]];
        Traffic traffic = Traffic.Compute(Workload.FromRouting(config, 2, routing));
        var result = new SizeResult(config, 2, 5, 1, new PhaseStats(3, 4), new PhaseStats(20, 21), new PhaseStats(30, 31), traffic,
            ValidationSummary.Skipped, CeilingResult.Skipped("not measured in this test", PeerCopyBytes.From(traffic, config)), 132)
        {
            Timeline = [OperationTimeline.Of(0, Operation()), OperationTimeline.Of(1, [])],
        };

        List<string[]> rows = TimelineTable.Rows([result]);
        Assert.Equal(5, rows.Count);  // rank 0: update, offsets, dispatch send and receive, combine; rank 1 recorded nothing
        Assert.All(rows, row => Assert.Equal(TimelineTable.Columns.Length, row.Length));
        Assert.Equal(["3", "0", "dispatch (seq 1)", "send", "3", "5.00", "5.30", "7.00", "11.00", "3.00", "5.70 (2, SM 12)"], rows[2]);
        Assert.Empty(TimelineTable.Rows([result with { Timeline = null }]));
        List<string> lines = TimelineTable.Lines([result]);
        Assert.Equal("timeline: " + BlockTimelineProbe.Method, lines[0]);
        Assert.Equal("timeline at 3 tokens/rank, rank 0: gaps update → offsets 0.60 µs, offsets → dispatch 1.00 µs, dispatch → combine 2.00 µs; last block end 24.00 µs", lines[1]);
        Assert.Equal("timeline at 3 tokens/rank, rank 1: no block recorded anything", lines[2]);

        BenchCli.InTempFolder(folder =>
        {
            string json = Path.Combine(folder, "run.json");
            var options = new BenchOptions { Backend = BackendChoice.Cuda, Timeline = true, Tokens = 3 };
            JsonReport.Write(json, "cuda", "test", ["--timeline"], options, [result], ValidationSummary.Skipped);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement timeline = doc.RootElement.GetProperty("results")[0].GetProperty("timeline");
            Assert.Equal(BlockTimelineProbe.Method, timeline.GetProperty("method").GetString());
            JsonElement rank0 = timeline.GetProperty("ranks")[0];
            Assert.Equal(0, rank0.GetProperty("rank").GetInt32());
            JsonElement dispatch = rank0.GetProperty("kernels").GetProperty("dispatch");
            Assert.Equal(1, dispatch.GetProperty("seq").GetInt32());
            Assert.Equal(20.0, dispatch.GetProperty("end_us").GetDouble(), 9);
            JsonElement receive = dispatch.GetProperty("roles").GetProperty("receive");
            Assert.Equal(2, receive.GetProperty("blocks").GetInt32());
            Assert.Equal(14.275, receive.GetProperty("median_block_us").GetDouble(), 9);
            Assert.Equal(4, receive.GetProperty("slowest_block").GetInt32());
            Assert.Equal(14, receive.GetProperty("slowest_block_sm").GetInt32());
            Assert.Equal(14.6, receive.GetProperty("slowest_block_us").GetDouble(), 9);
            JsonElement gap = rank0.GetProperty("gaps")[0];
            Assert.Equal(("update", "offsets"), (gap.GetProperty("from").GetString(), gap.GetProperty("to").GetString()));
            Assert.Equal(0.6, gap.GetProperty("us").GetDouble(), 9);
            Assert.Empty(timeline.GetProperty("ranks")[1].GetProperty("kernels").EnumerateObject());

            JsonReport.Write(json, "cuda", "test", [], options with { Timeline = false }, [result with { Timeline = null }], ValidationSummary.Skipped);
            using JsonDocument without = JsonDocument.Parse(File.ReadAllText(json));
            Assert.Equal(JsonValueKind.Null, without.RootElement.GetProperty("results")[0].GetProperty("timeline").ValueKind);

            string markdown = MarkdownReport.Render(new ArtifactContext(options, "cuda (test)", ["--timeline"], [result], DateTimeOffset.UnixEpoch), null);
            Assert.Contains("## Block timeline of one operation", markdown, StringComparison.Ordinal);
            Assert.Contains("| receive |", markdown, StringComparison.Ordinal);
            Assert.Contains("- timeline at 3 tokens/rank, rank 0: gaps update → offsets 0.60 µs", markdown, StringComparison.Ordinal);
        });
    }

    /// <summary>The role with its µs rounded to 1e-9 (the ns → µs division is not exact in binary).</summary>
    private static RoleTimeline Rounded(RoleTimeline r) => r with
    {
        FirstStartUs = Math.Round(r.FirstStartUs, 9),
        LastStartUs = Math.Round(r.LastStartUs, 9),
        FirstEndUs = Math.Round(r.FirstEndUs, 9),
        LastEndUs = Math.Round(r.LastEndUs, 9),
        MedianBlockUs = Math.Round(r.MedianBlockUs, 9),
        SlowestBlockUs = Math.Round(r.SlowestBlockUs, 9),
    };
}
