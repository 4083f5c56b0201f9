using System;
using System.IO;
using System.Text.Json;
using NcclEp.Cuda;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// The bench's JSON says which kernels ran: "embedded" or the NCCLEP_KERNEL_SOURCE_DIR variant, and a hash of the joined
/// source, so results of kernel variants timed side by side (scripts/gpu-ht-few-sms.sh) cannot be mixed up.
/// </summary>
public sealed class BenchKernelSourceJsonTests
{
    [Fact]
    public void Json_names_the_kernel_source_and_its_hash()
    {
        BenchCli.InTempFolder(folder =>
        {
            string json = Path.Combine(folder, "run.json");
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--mode", "ll", "--tokens", "8", "--hidden", "512", "--iters", "2",
                "--warmup", "0", "--steady-ops", "0", "--json", json);
            Assert.True(run.ExitCode == 0, run.Output);
            using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(json));
            Assert.Equal(KernelSource.SourceDirectory ?? "embedded", doc.RootElement.GetProperty("kernel_source").GetString());
            string hash = doc.RootElement.GetProperty("kernel_source_sha256").GetString()!;
            Assert.Matches("^[0-9a-f]{16}$", hash);
            Assert.Equal(KernelSource.Fingerprint, hash);
        });
    }
}
