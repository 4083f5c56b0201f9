using System;
using System.IO;
using System.Text.Json;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// <c>--dtype fp8</c> and <c>--fp8-scales</c> (issue 22): on the Host backend every layout and recipe runs and validates
/// (FP8 rows and scales bit for bit against the library's rule, the combine bit for bit against the reference of the
/// dequantized rows); the JSON says fp8 with its recipe and counts the bytes an FP8 row moves (hidden + its scales)
/// against the bf16 run's (hidden × 2) for the same routing; the options refuse what they cannot do.
/// </summary>
public sealed class BenchFp8OptionTests
{
    [Theory]
    [InlineData("ll", "expert-major", "fp32", 4)]
    [InlineData("ll", "rank-major", "ue8m0", 1)]
    [InlineData("ht", "flat", "pow2", 4)]
    [InlineData("ht", "expert-major", "ue8m0", 1)]
    public void An_fp8_run_validates_and_reports_the_bytes_of_fp8_rows_and_scales(string mode, string layout, string scales, int scaleBytes)
    {
        BenchCli.InTempFolder(folder =>
        {
            const int hidden = 512;
            string fp8Json = Path.Combine(folder, "fp8.json"), bf16Json = Path.Combine(folder, "bf16.json");
            string[] common = ["--backend", "host", "--mode", mode, "--layout", layout, "--tokens", "8", "--hidden", "512", "--iters", "2",
                "--warmup", "1", "--steady-ops", "0", "--validate"];
            CliResult fp8 = BenchCli.Run(folder, [.. common, "--dtype", "fp8", "--fp8-scales", scales, "--json", fp8Json]);
            CliResult bf16 = BenchCli.Run(folder, [.. common, "--json", bf16Json]);
            Assert.True(fp8.ExitCode == 0, fp8.Output);
            Assert.True(bf16.ExitCode == 0, bf16.Output);
            Assert.Contains("validation: passed", fp8.Output, StringComparison.Ordinal);
            Assert.Contains("FP8", fp8.Output, StringComparison.Ordinal);

            using JsonDocument f = JsonDocument.Parse(File.ReadAllText(fp8Json)), b = JsonDocument.Parse(File.ReadAllText(bf16Json));
            Assert.Equal("fp8", f.RootElement.GetProperty("dtype").GetString());
            Assert.Equal(scales, f.RootElement.GetProperty("fp8_scales").GetString());
            Assert.Equal(JsonValueKind.Null, b.RootElement.GetProperty("fp8_scales").ValueKind);
            JsonElement fd = f.RootElement.GetProperty("results")[0].GetProperty("dispatch"), bd = b.RootElement.GetProperty("results")[0].GetProperty("dispatch");
            long rows = fd.GetProperty("rows").GetInt64();
            Assert.True(rows > 0);
            Assert.Equal(bd.GetProperty("rows").GetInt64(), rows);  // the same routing (same seed)
            Assert.Equal(rows * hidden * 2, bd.GetProperty("bytes").GetInt64());
            Assert.Equal(rows * (hidden + (hidden / 128 * scaleBytes)), fd.GetProperty("bytes").GetInt64());
            // The combine stays bf16.
            JsonElement fc = f.RootElement.GetProperty("results")[0].GetProperty("combine"), bc = b.RootElement.GetProperty("results")[0].GetProperty("combine");
            Assert.Equal(bc.GetProperty("bytes").GetInt64(), fc.GetProperty("bytes").GetInt64());
            Assert.Equal("passed", f.RootElement.GetProperty("results")[0].GetProperty("validation").GetProperty("result").GetString());
        });
    }

    [Theory]
    [InlineData("--fp8-scales pow2", "--fp8-scales pow2 goes with --dtype fp8.")]
    [InlineData("--dtype fp8 --fp8-scales ue8m0 --hidden 640", "--hidden must be a multiple of 512 with --fp8-scales ue8m0")]
    [InlineData("--dtype fp8 --zero-copy --layout rank-major", "--zero-copy does not go with --dtype fp8")]
    public void The_fp8_options_refuse_what_they_cannot_do(string options, string expected)
    {
        BenchCli.InTempFolder(folder =>
        {
            CliResult run = BenchCli.Run(folder, ["--backend", "host", .. options.Split(' ')]);
            Assert.NotEqual(0, run.ExitCode);
            Assert.Contains(expected, run.Output, StringComparison.Ordinal);
        });
    }
}
