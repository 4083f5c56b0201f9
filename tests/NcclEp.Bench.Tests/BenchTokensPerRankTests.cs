using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// <c>--tokens-per-rank</c> (an uneven decode batch): the list it accepts, what it refuses (naming the option), that
/// each rank runs and is validated with its own count (a rank with none still receives and sends back its peers' rows),
/// that the traffic counts only the tokens the ranks have, and that a wrong row received by a rank without tokens fails
/// the validation.
/// </summary>
public sealed class BenchTokensPerRankTests
{
    [Theory]
    [InlineData("128,0", new[] { 128, 0 })]
    [InlineData(" 5 , 3 ", new[] { 5, 3 })]
    [InlineData("0,7,0,1", new[] { 0, 7, 0, 1 })]
    public void Comma_list_gives_each_ranks_count_in_rank_order(string text, int[] expected)
    {
        Assert.True(TokensPerRankList.TryParse(text, out int[] values, out string error), error);
        Assert.Equal(expected, values);
        Assert.Equal(string.Join(',', expected), TokensPerRankList.Format(values));
    }

    [Theory]
    [InlineData("", "comma list")]
    [InlineData("4,,2", "empty entry")]
    [InlineData("4,", "empty entry")]
    [InlineData("-1,2", "'-1' is negative")]
    [InlineData("four,2", "'four' is not a whole number from 0 to 1048576")]
    [InlineData("1.5,2", "'1.5' is not a whole number")]
    [InlineData("1048577,2", "'1048577' is not a whole number from 0 to 1048576")]
    public void Bad_list_is_refused_with_a_message_naming_the_option_and_the_entry(string text, string why)
    {
        Assert.False(TokensPerRankList.TryParse(text, out int[] values, out string error));
        Assert.Empty(values);
        Assert.StartsWith("--tokens-per-rank: ", error, StringComparison.Ordinal);
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_refuse_a_wrong_count_no_tokens_too_many_tokens_a_sweep_and_processes_by_name()
    {
        var uneven = new BenchOptions { Tokens = 8, TokensPerRank = [8, 0] };
        Assert.Null(uneven.Check());
        Assert.Null((uneven with { SmsSweep = [4, 8] }).Check());
        Assert.Equal(new[] { 8, 0 }, uneven.RankTokens(8));
        Assert.Equal(new[] { 8, 8 }, new BenchOptions { Tokens = 8 }.RankTokens(8));
        Assert.Contains("tokens/rank=8,0 (per rank, max 8) ", uneven.Describe(), StringComparison.Ordinal);
        Assert.Contains("tokens/rank=8 ", new BenchOptions { Tokens = 8 }.Describe(), StringComparison.Ordinal);

        Assert.Equal("--tokens-per-rank gives 3 token counts for --ranks 2; give exactly one per rank.",
            (uneven with { TokensPerRank = [1, 2, 3] }).Check());
        Assert.Equal("--tokens-per-rank gives 1 token count for --ranks 2; give exactly one per rank.", (uneven with { TokensPerRank = [1] }).Check());
        Assert.Equal("--tokens-per-rank 0,0 gives no rank a token, so nothing would move; give at least one rank a token.",
            (uneven with { TokensPerRank = [0, 0] }).Check());
        Assert.StartsWith("--tokens-per-rank gives rank 1 9 tokens, more than --tokens 8 (the most a rank may have)",
            (uneven with { TokensPerRank = [1, 9] }).Check(), StringComparison.Ordinal);
        Assert.StartsWith("--tokens-per-rank sets each rank's tokens of one size; it does not go with --sweep",
            (uneven with { Sweep = EpMode.LowLatency }).Check(), StringComparison.Ordinal);
        Assert.Equal("--tokens-per-rank runs the ranks as threads of this process; leave --procs out.",
            (uneven with { Backend = BackendChoice.Cuda, Procs = 2 }).Check());
    }

    [Fact]
    public void The_command_line_refuses_bad_lists_by_name_sets_tokens_to_the_largest_count_and_the_help_lists_it()
    {
        BenchCli.InTempFolder(folder =>
        {
            Assert.Contains("error: --tokens-per-rank: '-3' is negative", BenchCli.RunRefused(folder, "--backend", "host", "--tokens-per-rank", "-3,2"),
                StringComparison.Ordinal);
            Assert.Contains("error: --tokens-per-rank: 'x' is not a whole number", BenchCli.RunRefused(folder, "--backend", "host", "--tokens-per-rank", "1,x"),
                StringComparison.Ordinal);
            Assert.Contains("error: --tokens-per-rank gives 3 token counts for --ranks 2",
                BenchCli.RunRefused(folder, "--backend", "host", "--tokens-per-rank", "1,2,3"), StringComparison.Ordinal);
            Assert.Contains("more than --tokens 4", BenchCli.RunRefused(folder, "--backend", "host", "--tokens", "4", "--tokens-per-rank", "6,1"),
                StringComparison.Ordinal);
            Assert.Contains("does not go with --sweep", BenchCli.RunRefused(folder, "--backend", "host", "--sweep", "ll", "--tokens-per-rank", "6,1"),
                StringComparison.Ordinal);

            // No --tokens: the largest count is the most a rank may have (not the default 32).
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--tokens-per-rank", "0,6", "--hidden", "512", "--iters", "1", "--warmup", "0", "--steady-ops", "0");
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("tokens/rank=0,6 (per rank, max 6) ", run.Output, StringComparison.Ordinal);

            CliResult help = BenchCli.Run(folder, "--help");
            Assert.True(help.ExitCode == 0, help.Output);
            Assert.Contains("--tokens-per-rank", help.Output, StringComparison.Ordinal);
        });
    }

    [Theory]
    [InlineData("expert-major", "fused")]
    [InlineData("rank-major", "fused")]
    [InlineData("expert-major", "separate")]
    public void A_host_run_where_one_rank_has_no_tokens_validates_every_rank(string layout, string routing)
    {
        BenchCli.InTempFolder(folder =>
        {
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--mode", "ll", "--layout", layout, "--routing", routing, "--tokens-per-rank", "8,0",
                "--hidden", "512", "--iters", "2", "--warmup", "1", "--steady-ops", "0", "--validate");
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("tokens/rank=8,0 (per rank, max 8) ", run.Output, StringComparison.Ordinal);
            Assert.Contains("validation: passed (8 tokens, ", run.Output, StringComparison.Ordinal);  // rank 0's 8 and rank 1's none
        });
    }

    [Fact]
    public void A_host_run_of_five_and_three_tokens_validates_and_its_json_carries_the_list_and_the_selections_of_those_tokens()
    {
        BenchCli.InTempFolder(folder =>
        {
            string json = Path.Combine(folder, "run.json");
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--mode", "ll", "--tokens-per-rank", "5,3", "--topk", "4", "--hidden", "512",
                "--iters", "2", "--warmup", "1", "--steady-ops", "0", "--validate", "--json", json);
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("validation: passed (8 tokens, ", run.Output, StringComparison.Ordinal);

            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            JsonElement result = doc.RootElement.GetProperty("results")[0];
            Assert.Equal(5, result.GetProperty("tokens_per_rank").GetInt32());
            Assert.Equal(new[] { 5, 3 }, result.GetProperty("tokens_per_rank_list").EnumerateArray().Select(e => e.GetInt32()).ToArray());
            // The bench routes every slot to an expert: (5 + 3) tokens × top-4, not 2 ranks × 5.
            Assert.Equal((5 + 3) * 4, result.GetProperty("ep_bench_selections").GetInt64());
            Assert.Equal(8, result.GetProperty("validation").GetProperty("tokens").GetInt64());
        });
    }

    [Fact]
    public void Traffic_counts_each_ranks_own_tokens_and_a_rank_without_tokens_sends_nothing()
    {
        EpConfig config = new BenchOptions { Tokens = 2, Hidden = 512, TopK = 2, Experts = 4 }.ToConfig(2);
        // Rank 0: token 0 to experts 1 (rank 0) and 2 (rank 1), token 1 to experts 2 and 3 (both rank 1); rank 1: none.
        Traffic traffic = Traffic.Compute(Workload.FromRouting(config, 2, [[1, 2, 2, 3], []]));

        Assert.Equal(new[] { 1, 0 }, traffic.RecvRankCounts[0]);
        Assert.Equal(new[] { 2, 0 }, traffic.RecvRankCounts[1]);
        Assert.Equal(new[] { 3, 0 }, traffic.RecvSlotCounts[1]);
        Assert.Equal(4, traffic.Slots);
        Assert.Equal(3, traffic.RemoteSlots);
        Assert.Equal(3, traffic.Pairs);
        Assert.Equal(2, traffic.RemotePairs);
        PeerCopyBytes bytes = PeerCopyBytes.From(traffic, config);
        Assert.Equal(2, bytes.DispatchRows[0][1]);
        Assert.Equal(0, bytes.DispatchRows[1][0]);
        Assert.Equal(3, bytes.CombineRows[1][0]);
    }

    [Fact]
    public void A_wrong_row_received_by_the_rank_without_tokens_fails_the_validation()
    {
        var options = new BenchOptions { Backend = BackendChoice.Host, Tokens = 8, TokensPerRank = [8, 0], Hidden = 512 };
        EpConfig config = options.ToConfig(options.Tokens);
        Workload work = Workload.Generate(config, options.Ranks, options.Seed, options.RankTokens(options.Tokens));
        ExpectedRow first = new ReferenceModel(config, options.Ranks, work.Batches).Receive(1).Rows.First(row => !row.IsPadding);
        using var backend = new HostBenchBackend("test");
        using var threads = new RankThreads(options.Ranks);
        EpGroup[] groups = backend.CreateGroups(config, options.Ranks, options.GroupOptions(), threads);
        var clean = new RankValidation[options.Ranks];
        var corrupted = new RankValidation[options.Ranks];
        try
        {
            threads.Run((rank, barrier) =>
            {
                using var state = new RankState(backend, groups[rank], work, rank) { RoutedDispatch = true };
                PhaseLoop.Run(state, barrier.Wait, warmups: 0, iterations: 1, hostExperts: false);
                clean[rank] = Validator.Check(state, work);
                if (rank == 1)
                {
                    // Element 3 of the first row rank 1 received from rank 0: one bit of the bf16 flipped.
                    var row = new byte[config.RowBytes];
                    state.ReceivedBuffer.Download<byte>(row, first.Row * config.RowBytes);
                    row[6] ^= 0x01;
                    state.ReceivedBuffer.Upload<byte>(row, first.Row * config.RowBytes);
                }
                corrupted[rank] = Validator.Check(state, work);
            });
        }
        finally
        {
            threads.Run(rank => groups[rank].Dispose());
        }

        Assert.All(clean, v => Assert.True(v.Passed, v.Mismatch));
        Assert.Equal(0, clean[1].Tokens);
        Assert.True(clean[1].Rows > 0, "rank 1 received no rows: the test proved nothing");
        Assert.True(corrupted[0].Passed, corrupted[0].Mismatch);
        Assert.StartsWith($"rank 1: dispatch: layout row {first.Row} (from rank 0, token {first.Token}, slot {first.Slot}) element 3: expected 0x",
            corrupted[1].Mismatch, StringComparison.Ordinal);
    }
}
