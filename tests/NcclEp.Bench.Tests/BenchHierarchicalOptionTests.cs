using System;
using System.Collections.Generic;
using System.IO;
using NcclEp.Bench;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// <c>--hierarchical</c>: the bench's way to <see cref="EpGroupOptions.HierarchicalDispatch"/>. It reaches the groups'
/// options and every child of <c>--procs</c>, and the settings line names it. (NCCLEP_HIERARCHICAL=1, which the GPU
/// scripts set, does the same through the topology variables: tests/NcclEp.Tests/Cuda/TopologyEnvironmentTests.cs.)
/// </summary>
public sealed class BenchHierarchicalOptionTests
{
    [Fact]
    public void The_option_sets_hierarchical_dispatch_in_the_groups_options()
    {
        Assert.False(new BenchOptions().GroupOptions().HierarchicalDispatch);
        EpGroupOptions options = new BenchOptions { Hierarchical = true, TimeoutMs = 1500 }.GroupOptions();
        Assert.True(options.HierarchicalDispatch);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.PeerTimeout);
    }

    [Fact]
    public void Every_child_gets_the_option()
    {
        List<string> on = ProcsOptions.ChildArguments(new BenchOptions { Procs = 2, Hierarchical = true }, 1, "file:/tmp/x", "/tmp/r1.json");
        List<string> off = ProcsOptions.ChildArguments(new BenchOptions { Procs = 2 }, 1, "file:/tmp/x", "/tmp/r1.json");
        Assert.Contains("--hierarchical", on);
        Assert.DoesNotContain("--hierarchical", off);
    }

    [Fact]
    public void The_command_line_takes_it_and_the_settings_line_names_it()
    {
        string folder = BenchCli.TempFolder();
        try
        {
            CliResult run = BenchCli.Run(folder, "--backend", "host", "--mode", "ht", "--layout", "flat", "--tokens", "8", "--hidden", "512",
                "--iters", "2", "--warmup", "0", "--steady-ops", "0", "--hierarchical");
            Assert.True(run.ExitCode == 0, run.Output);
            Assert.Contains("seed=1 hierarchical", run.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
