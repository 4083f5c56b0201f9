using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// <c>--procs-one-gpu</c>: the processes of <c>--procs</c> all on GPU 0, each a node of its own to NCCL. The option
/// reaches the children, goes only with <c>--procs</c>, and a bad combination is refused before anything starts.
/// </summary>
public sealed class BenchProcsOneGpuTests
{
    [Fact]
    public void The_option_reaches_every_child_and_only_when_given()
    {
        var given = new BenchOptions { Procs = 4, ProcsOneGpu = true };
        for (int rank = 0; rank < 4; rank++)
            Assert.Contains("--procs-one-gpu", ProcsOptions.ChildArguments(given, rank, "file:/tmp/x", $"/tmp/r{rank}.json"));
        Assert.DoesNotContain("--procs-one-gpu", ProcsOptions.ChildArguments(new BenchOptions { Procs = 4 }, 0, "file:/tmp/x", "/tmp/r0.json"));
    }

    [Fact]
    public void Without_procs_the_option_is_refused_with_the_option_to_add()
    {
        Assert.Equal("--procs-one-gpu goes with --procs.", ProcsOptions.Check(new BenchOptions { ProcsOneGpu = true }));
        Assert.Null(ProcsOptions.Check(new BenchOptions { Procs = 4, ProcsOneGpu = true }));
    }

    [Fact]
    public void A_child_keeps_the_option_without_procs()
    {
        var child = new BenchOptions { Backend = BackendChoice.Cuda, ProcsOneGpu = true, ChildRank = 1, World = 4, Rendezvous = "file:/tmp/x", ResultFile = "/tmp/r1.json" };
        Assert.Null(ProcsOptions.Check(child));
    }

    [Fact]
    public void The_command_line_refuses_it_without_procs_before_anything_runs()
    {
        string folder = BenchCli.TempFolder();
        CliResult r = BenchCli.Run(folder, "--procs-one-gpu");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("--procs-one-gpu goes with --procs", r.Output, System.StringComparison.Ordinal);
    }
}
