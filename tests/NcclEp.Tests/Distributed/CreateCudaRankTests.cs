using System;
using System.Diagnostics;
using NcclEp.Distributed;
using Xunit;

namespace NcclEp.Tests.Distributed;

/// <summary>
/// EpGroup.CreateCudaRank without a GPU: every argument is checked before anything is touched, and a process
/// without the Cuda backend says so before it joins the rendezvous (so it never waits there).
/// </summary>
public class CreateCudaRankTests
{
    private static readonly EpConfig Config = new(EpMode.LowLatency, NumExperts: 8, Hidden: 512, TopK: 2, MaxTokensPerRank: 4, EpLayout.ExpertMajor);

    /// <summary>Rank 1 of 2 at a loopback port nobody listens on: joining would wait out the (long) time-out.</summary>
    private static EpRendezvous Unreachable(int rank = 1, int world = 2) =>
        EpRendezvous.Tcp("127.0.0.1", RankRunner.FreeLoopbackPort(), rank, world, TimeSpan.FromSeconds(30));

    [Fact]
    public void Arguments_are_checked_and_named_before_anything_runs()
    {
        using EpRendezvous rdv = Unreachable();
        Assert.Equal("rendezvous", Assert.Throws<ArgumentNullException>(() => EpGroup.CreateCudaRank(Config, 1, 2, 0, null!)).ParamName);
        Assert.Equal("worldSize", Assert.Throws<ArgumentOutOfRangeException>(() => EpGroup.CreateCudaRank(Config, 0, 0, 0, rdv)).ParamName);
        Assert.Equal("worldSize", Assert.Throws<ArgumentOutOfRangeException>(() => EpGroup.CreateCudaRank(Config, 0, 65, 0, rdv)).ParamName);
        Assert.Equal("rank", Assert.Throws<ArgumentOutOfRangeException>(() => EpGroup.CreateCudaRank(Config, 2, 2, 0, rdv)).ParamName);
        Assert.Equal("rank", Assert.Throws<ArgumentOutOfRangeException>(() => EpGroup.CreateCudaRank(Config, -1, 2, 0, rdv)).ParamName);
        Assert.Equal("deviceOrdinal", Assert.Throws<ArgumentOutOfRangeException>(() => EpGroup.CreateCudaRank(Config, 1, 2, -1, rdv)).ParamName);

        ArgumentException mismatch = Assert.Throws<ArgumentException>(() => EpGroup.CreateCudaRank(Config, 0, 2, 0, rdv));
        Assert.Equal("rendezvous", mismatch.ParamName);
        Assert.Contains("The rendezvous is for rank 1 of 2; this call is for rank 0 of 2", mismatch.Message, StringComparison.Ordinal);
        using EpRendezvous four = Unreachable(1, 4);
        Assert.Equal("rendezvous", Assert.Throws<ArgumentException>(() => EpGroup.CreateCudaRank(Config, 1, 2, 0, four)).ParamName);

        // The configuration is validated for the world size (8 experts do not split over 3 ranks).
        using EpRendezvous three = Unreachable(1, 3);
        Assert.Equal("NumExperts", Assert.Throws<ArgumentOutOfRangeException>(() => EpGroup.CreateCudaRank(Config, 1, 3, 0, three)).ParamName);
        Assert.Equal("Hidden", Assert.Throws<ArgumentOutOfRangeException>(() => EpGroup.CreateCudaRank(Config with { Hidden = 500 }, 1, 2, 0, rdv)).ParamName);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() =>
            EpGroup.CreateCudaRank(Config, 1, 2, 0, rdv, new EpGroupOptions { PeerTimeout = TimeSpan.Zero })).ParamName);
    }

    [Fact]
    public void The_rendezvous_overload_needs_the_local_rank_to_pick_the_GPU()
    {
        using EpRendezvous rdv = Unreachable();
        ArgumentException e = Assert.Throws<ArgumentException>(() => EpGroup.CreateCudaRank(Config, rdv));
        Assert.Equal("rendezvous", e.ParamName);
        Assert.Contains("LOCAL_RANK", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(() => EpGroup.CreateCudaRank(Config, null!));
    }

    [Fact]
    public void Without_the_Cuda_backend_it_fails_at_once_saying_why_and_without_joining_the_rendezvous()
    {
        if (EpGroup.IsCudaAvailable(out string reason)) return; // a GPU machine: covered by the GPU suite, not here
        using EpRendezvous rdv = EpRendezvous.Tcp("127.0.0.1", RankRunner.FreeLoopbackPort(), 1, 2, TimeSpan.FromSeconds(30), localRank: 0);
        var clock = Stopwatch.StartNew();
        EpException e = Assert.Throws<EpException>(() => EpGroup.CreateCudaRank(Config, rdv));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}: it must not wait at the rendezvous");
        Assert.StartsWith($"Rank 1 of 2: the Cuda backend cannot run in this process, so it did not join the rendezvous at {rdv.Address} (the other ranks will time out there): ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith(reason, e.Message, StringComparison.Ordinal);
        Assert.Contains("libcuda.so.1", e.Message, StringComparison.Ordinal);

        // A world of one fails the same way.
        using EpRendezvous alone = EpRendezvous.File(System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ncclep-none-" + Guid.NewGuid().ToString("N"), "id"), 0, 1, localRank: 0);
        EpException single = Assert.Throws<EpException>(() => EpGroup.CreateCudaRank(Config, 0, 1, 0, alone));
        Assert.Contains("Rank 0 of 1: the Cuda backend cannot run in this process", single.Message, StringComparison.Ordinal);
    }
}
