using System;
using Xunit;

namespace NcclEp.Tests.Graphs;

/// <summary>
/// A group releases what was captured on it (graph executables) before its backend, once, and not what its owner
/// already released: NCCL's communicator destroy waits for live graphs that hold its send/recv.
/// </summary>
public sealed class GroupDependentsTests
{
    private sealed class Counted : IDisposable
    {
        public int Disposals { get; private set; }

        public void Dispose() => Disposals++;
    }

    [Fact]
    public void Disposing_the_group_releases_live_dependents_once_and_skips_removed_ones()
    {
        EpGroup[] groups = EpGroup.CreateHost(new EpConfig(EpMode.LowLatency, 4, 512, 2, 8, EpLayout.ExpertMajor), 1);
        var live = new Counted();
        var released = new Counted();
        groups[0].AddDependent(live);
        groups[0].AddDependent(released);
        groups[0].RemoveDependent(released);

        groups[0].Dispose();
        groups[0].Dispose();

        Assert.Equal(1, live.Disposals);
        Assert.Equal(0, released.Disposals);
    }
}
