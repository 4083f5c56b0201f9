using System;
using System.IO;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// A configuration the library refuses is reported with the bench's option names, and with nothing that is not the
/// problem: no token count unless the tokens are at fault, no "Actual value was N." line, no API field names.
/// </summary>
public sealed class BenchConfigErrorTests
{
    private static readonly (BenchOptions Options, string Expected)[] Cases =
    [
        (new BenchOptions { Hidden = 100 }, "--hidden must be a multiple of 128 from 512 to 16384, not 100."),
        (new BenchOptions { TopK = 100 }, "--topk must be 1..32, not 100."),
        (new BenchOptions { Ranks = 100 }, "--ranks must be 1..64, not 100."),
        (new BenchOptions { Experts = 7 }, "--experts must be a positive multiple of --ranks (2), not 7."),
        (new BenchOptions { TopK = 20 }, "--topk must not exceed --experts (16), not 20: a token picks distinct experts."),
        (new BenchOptions { Tokens = 2_000_000 }, "--tokens must be 1..1048576, not 2000000."),
        (new BenchOptions { NumSms = 2000 }, "--num-sms must be 0 (the backend chooses) to 1024, not 2000."),
        (new BenchOptions { Mode = EpMode.HighThroughput, Layout = EpLayout.ExpertMajor, Align = 2000 }, "--align must be 1..1024, not 2000."),
        (new BenchOptions { Align = 4 }, "--align 4 pads the expert segments of --mode ht --layout expert-major only; leave it out with --mode ll (the default) --layout expert-major."),
        (new BenchOptions { Mode = EpMode.HighThroughput, Layout = EpLayout.RankMajor }, "--layout rank-major does not go with --mode ht: ll takes expert-major or rank-major, ht takes flat or expert-major."),
        (new BenchOptions { Layout = EpLayout.Flat }, "--layout flat does not go with --mode ll (the default): ll takes expert-major or rank-major, ht takes flat or expert-major."),
        (new BenchOptions { Sweep = EpMode.HighThroughput, Layout = EpLayout.RankMajor }, "--layout rank-major does not go with --sweep ht: ll takes expert-major or rank-major, ht takes flat or expert-major."),
    ];

    public static TheoryData<int> CaseNumbers()
    {
        var numbers = new TheoryData<int>();
        for (int i = 0; i < Cases.Length; i++) numbers.Add(i);
        return numbers;
    }

    [Theory]
    [MemberData(nameof(CaseNumbers))]
    public void A_refused_configuration_names_the_option_and_only_the_problem(int number)
    {
        (BenchOptions options, string expected) = Cases[number];
        string? message = options.Check();
        Assert.Equal(expected, message);
        Assert.DoesNotContain("tokens/rank", message, StringComparison.Ordinal);
        Assert.DoesNotContain("Actual value", message, StringComparison.Ordinal);
        Assert.DoesNotContain("Parameter", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_many_rows_of_dispatch_output_name_the_tokens_and_what_they_multiply()
    {
        string? message = new BenchOptions { Tokens = 1 << 20, Ranks = 64, Experts = 4096, TopK = 1 }.Check();
        Assert.NotNull(message);
        Assert.StartsWith("--tokens 1048576 with --ranks 64 and --experts 4096 would need ", message, StringComparison.Ordinal);
        Assert.EndsWith("rows of dispatch output, more than 2^31-1; lower --tokens.", message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_ranks_of_procs_are_named_procs() =>
        Assert.Equal("--experts must be a positive multiple of --procs (3), not 16.",
            new BenchOptions { Backend = BackendChoice.Cuda, Procs = 3, Ranks = 3 }.Check());

    [Fact]
    public void The_command_line_reports_a_bad_option_by_its_name_with_exit_code_2()
    {
        string folder = BenchCli.TempFolder();
        try
        {
            CliResult run = BenchCli.Run(folder, "--topk", "100");
            Assert.True(run.ExitCode == ExitCodes.Usage, run.Describe());
            Assert.Contains("error: --topk must be 1..32, not 100.", run.Output, StringComparison.Ordinal);
            Assert.DoesNotContain("TopK", run.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
