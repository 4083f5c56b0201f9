using System;
using NcclEp.Bench;
using Xunit;

namespace NcclEp.Bench.Tests;

/// <summary>
/// <c>--fault-exit-rank R</c>: rank R of <c>--procs</c> kills its process before its first dispatch (a node lost in
/// the middle of a step). Only that rank's barrier changes, the value reaches the children, and bad values are named.
/// </summary>
public sealed class BenchProcsFaultTests
{
    [Fact]
    public void Other_ranks_keep_the_plain_barrier()
    {
        var o = new BenchOptions { Procs = 4, FaultExitRank = 2 };
        Action barrier = () => { };
        Assert.Same(barrier, ProcsFault.Meet(o, 1, barrier));
        Assert.Same(barrier, ProcsFault.Meet(new BenchOptions { Procs = 4 }, 2, barrier));
    }

    [Fact]
    public void The_failing_rank_still_meets_the_others_before_update()
    {
        int met = 0;
        Action meet = ProcsFault.Meet(new BenchOptions { Procs = 4, FaultExitRank = 2 }, 2, () => met++);
        meet();  // the first meeting (before Update) passes; the second would end this process
        Assert.Equal(1, met);
    }

    [Theory]
    [InlineData(0, 1, "--fault-exit-rank goes with --procs.")]
    [InlineData(4, 4, "--fault-exit-rank 4 is not a rank of --procs 4.")]
    [InlineData(4, -1, "--fault-exit-rank -1 is not a rank of --procs 4.")]
    [InlineData(4, 3, null)]
    public void Bad_values_are_named(int procs, int rank, string? message) =>
        Assert.Equal(message, ProcsOptions.Check(new BenchOptions { Procs = procs, FaultExitRank = rank }));

    [Fact]
    public void Every_child_gets_the_rank()
    {
        Assert.Equal("3", ChildCommandLine.ValueOf(new BenchOptions { Procs = 4, FaultExitRank = 3 }, 0, "--fault-exit-rank"));
        Assert.DoesNotContain("--fault-exit-rank", ProcsOptions.ChildArguments(new BenchOptions { Procs = 4 }, 0, "file:/tmp/x", "/tmp/r0.json"));
    }
}
