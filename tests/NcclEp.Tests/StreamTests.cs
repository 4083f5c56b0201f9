using System;
using Xunit;

namespace NcclEp.Tests;

/// <summary>
/// <see cref="EpGroup.CreateStream"/> on the Host backend (the Cuda side, where co-located ranks get streams on hardware
/// work queues of their own, runs in the GPU suites): the default stream, since every call completes on the rank thread;
/// refused once the group is disposed. Inside a captured step it is refused too (GraphCaptureErrorTests).
/// </summary>
public sealed class StreamTests
{
    private static readonly EpConfig Config = new(EpMode.LowLatency, NumExperts: 4, Hidden: 512, TopK: 2, MaxTokensPerRank: 4, EpLayout.ExpertMajor);

    [Fact]
    public void A_host_rank_s_stream_is_the_default_stream()
    {
        EpGroup[] groups = EpGroup.CreateHost(Config, 2);
        try
        {
            Assert.Equal(EpStream.Default, groups[0].CreateStream());
            Assert.Equal(EpStream.Default, groups[1].CreateStream());
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

    [Fact]
    public void A_disposed_group_makes_no_stream()
    {
        EpGroup[] groups = EpGroup.CreateHost(Config, 1);
        groups[0].Dispose();
        Assert.Throws<ObjectDisposedException>(() => groups[0].CreateStream());
    }
}
