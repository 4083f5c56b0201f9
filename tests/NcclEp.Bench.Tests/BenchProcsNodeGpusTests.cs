using System.Linq;
using NcclEp.Bench;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// <c>--procs-node-gpus G</c>: the processes of <c>--procs</c> as emulated nodes of G ranks on GPUs 0..G-1, one
/// <c>NCCL_HOSTID</c> per node, so one machine with G GPUs runs several nodes with NCCL's real transports between them.
/// </summary>
public sealed class BenchProcsNodeGpusTests
{
    [Fact]
    public void Ranks_fill_the_node_s_gpus_and_share_its_host_id()
    {
        var o = new BenchOptions { Procs = 4, ProcsNodeGpus = 2 };
        Assert.Equal(new[] { 0, 1, 0, 1 }, new[] { 0, 1, 2, 3 }.Select(r => ProcsOptions.DeviceOf(o, r)));
        Assert.Equal(new[] { "ncclep-node-0", "ncclep-node-0", "ncclep-node-1", "ncclep-node-1" },
            new[] { 0, 1, 2, 3 }.Select(r => ProcsOptions.HostIdOf(o, r)));
        Assert.Contains("2 emulated nodes of 2 ranks on GPUs 0..1", ProcsOptions.Placement(o), System.StringComparison.Ordinal);
    }

    [Fact]
    public void One_gpu_is_a_node_per_rank_and_no_option_is_the_real_host()
    {
        var one = new BenchOptions { Procs = 3, ProcsOneGpu = true };
        Assert.Equal(new[] { 0, 0, 0 }, new[] { 0, 1, 2 }.Select(r => ProcsOptions.DeviceOf(one, r)));
        Assert.Equal("ncclep-node-2", ProcsOptions.HostIdOf(one, 2));

        var plain = new BenchOptions { Procs = 3 };
        Assert.Equal(2, ProcsOptions.DeviceOf(plain, 2));
        Assert.Null(ProcsOptions.HostIdOf(plain, 2));
        Assert.Equal("rank r on GPU r", ProcsOptions.Placement(plain));
    }

    [Theory]
    [InlineData(4, 3, false, "--procs 4 is not a whole number of emulated nodes of --procs-node-gpus 3.")]
    [InlineData(0, 2, false, "--procs-node-gpus goes with --procs.")]
    [InlineData(4, 2, true, "--procs-one-gpu is --procs-node-gpus 1: give one of them.")]
    [InlineData(4, -1, false, "--procs-node-gpus must be at least 1, not -1.")]
    public void A_bad_combination_is_refused_by_name(int procs, int nodeGpus, bool oneGpu, string message) =>
        Assert.Equal(message, ProcsOptions.Check(new BenchOptions { Procs = procs, ProcsNodeGpus = nodeGpus, ProcsOneGpu = oneGpu }));

    [Fact]
    public void Every_child_gets_the_node_size()
    {
        Assert.Equal("2", ChildCommandLine.ValueOf(new BenchOptions { Procs = 4, ProcsNodeGpus = 2 }, 3, "--procs-node-gpus"));
        var child = new BenchOptions { Backend = BackendChoice.Cuda, ProcsNodeGpus = 2, ChildRank = 3, World = 4, Rendezvous = "file:/tmp/x", ResultFile = "/tmp/r3.json" };
        Assert.Null(ProcsOptions.Check(child));
    }
}
