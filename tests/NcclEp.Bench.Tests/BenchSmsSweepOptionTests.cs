using System;
using System.IO;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary><c>--sms-sweep</c>: the list it accepts, what it refuses (naming the option, exit 2), and the runs it makes.</summary>
public sealed class BenchSmsSweepOptionTests
{
    [Theory]
    [InlineData("8,16,32,64,96,132", new[] { 8, 16, 32, 64, 96, 132 })]
    [InlineData(" 64 , 8 ", new[] { 64, 8 })]
    [InlineData("1024", new[] { 1024 })]
    public void Comma_list_gives_the_values_in_the_order_given(string text, int[] expected)
    {
        Assert.True(SmsSweepList.TryParse(text, out int[] values, out string error), error);
        Assert.Equal(expected, values);
    }

    [Fact]
    public void Default_is_the_documented_list()
    {
        Assert.True(SmsSweepList.TryParse("default", out int[] values, out _));
        Assert.Equal(new[] { 8, 16, 24, 32, 48, 64, 96, 132 }, values);
    }

    [Theory]
    [InlineData("", "comma list")]
    [InlineData("8,,16", "empty entry")]
    [InlineData("8,", "empty entry")]
    [InlineData("eight", "'eight' is not a whole number")]
    [InlineData("8;16", "'8;16' is not a whole number")]
    [InlineData("-8", "'-8' is not a whole number")]
    [InlineData("1.5", "'1.5' is not a whole number")]
    [InlineData("0", "0 is out of range")]
    [InlineData("1025", "1025 is out of range")]
    [InlineData("8,16,8", "8 is given twice")]
    [InlineData("Default", "'Default' is not a whole number")]
    public void Bad_list_is_refused_with_a_message_naming_the_option_and_the_entry(string text, string why)
    {
        Assert.False(SmsSweepList.TryParse(text, out int[] values, out string error));
        Assert.Empty(values);
        Assert.StartsWith("--sms-sweep: ", error, StringComparison.Ordinal);
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Sweep_runs_the_one_size_once_per_value_with_that_num_sms()
    {
        var options = new BenchOptions { Mode = EpMode.HighThroughput, Tokens = 256, Hidden = 512, SmsSweep = [8, 32, 132] };
        Assert.Null(options.Check());
        RunPoint[] points = options.RunPoints().ToArray();
        Assert.Equal(new[] { new RunPoint(256, 8), new RunPoint(256, 32), new RunPoint(256, 132) }, points);
        Assert.Equal(new[] { 8, 32, 132 }, Array.ConvertAll(points, p => options.ToConfig(p).NumSms));
        Assert.Contains("num-sms=8,32,132 (sms-sweep)", options.Describe(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sweep", "does not go with --sweep")]
    [InlineData("num-sms", "leave --num-sms out")]
    [InlineData("procs", "leave --procs out")]
    public void Sweep_refuses_the_options_it_replaces(string other, string why)
    {
        var options = new BenchOptions { SmsSweep = [8, 16] };
        options = other switch
        {
            "sweep" => options with { Sweep = EpMode.LowLatency },
            "num-sms" => options with { NumSms = 16 },
            _ => options with { Procs = 2, Ranks = 2, Backend = BackendChoice.Cuda },
        };
        string? error = options.Check();
        Assert.NotNull(error);
        Assert.StartsWith("--sms-sweep ", error, StringComparison.Ordinal);
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("8,x", "--sms-sweep: 'x' is not a whole number")]
    [InlineData("0", "--sms-sweep: 0 is out of range")]
    public void Command_line_with_a_bad_list_exits_2_naming_the_option(string list, string message)
    {
        string folder = BenchCli.TempFolder();
        try
        {
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--sms-sweep", list);
            Assert.True(run.ExitCode == 2, run.Describe());
            Assert.Contains($"error: {message}", run.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
