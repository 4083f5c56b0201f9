using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using NcclEp.Distributed;
using Xunit;

namespace NcclEp.Tests.Distributed;

/// <summary>The file rendezvous in a fresh temporary folder, ranks as threads.</summary>
public sealed class FileRendezvousTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);
    private readonly ScratchFolder _scratch = new("ncclep-rdv-test-");

    private string Folder => _scratch.Root;

    private string PathFor(string name) => _scratch.PathFor(name);

    public void Dispose() => _scratch.Dispose();

    private static EpRendezvous[] Group(string path, int world, TimeSpan? timeout = null)
    {
        var all = new EpRendezvous[world];
        for (int r = 0; r < world; r++) all[r] = EpRendezvous.File(path, r, world, timeout ?? Generous);
        return all;
    }

    private static void DisposeAll(EpRendezvous[] all)
    {
        foreach (EpRendezvous r in all) r.Dispose();
    }

    [Fact]
    public void Every_rank_receives_rank_0s_payload_over_several_steps_and_no_temporary_file_is_left()
    {
        string path = PathFor("sub/id"); // rank 0 creates the folder
        EpRendezvous[] all = Group(path, 4);
        byte[] first = RandomNumberGenerator.GetBytes(128), second = RandomNumberGenerator.GetBytes(128);
        int calls = 0;
        try
        {
            RankOutcome[] outcomes = RankRunner.Run(4, r =>
            {
                byte[] a = all[r].Share(() => { Interlocked.Increment(ref calls); return first; });
                all[r].Barrier();
                byte[] b = all[r].Share(() => { Interlocked.Increment(ref calls); return second; });
                return (a, b);
            });
            foreach (RankOutcome o in outcomes)
            {
                (byte[] a, byte[] b) = o.Get<(byte[], byte[])>();
                Assert.Equal(first, a);
                Assert.Equal(second, b);
            }
            Assert.Equal(2, calls);
            Assert.Equal("file:" + Path.GetFullPath(path), all[2].Address);
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, "*.tmp"));
        }
        finally
        {
            DisposeAll(all);
        }
        // Rank 0 removed the acknowledgements; the record stays (past step 0: a later run ignores it).
        Assert.Equal(["id"], Array.ConvertAll(Directory.GetFiles(Path.GetDirectoryName(path)!), f => Path.GetFileName(f)!));
    }

    [Fact]
    public void The_barrier_holds_every_rank_until_the_last_one_arrives()
    {
        EpRendezvous[] all = Group(PathFor("barrier"), 3);
        try
        {
            var late = TimeSpan.FromMilliseconds(400);
            RankOutcome[] outcomes = RankRunner.Run(3, r =>
            {
                all[r].Barrier();
                if (r == 1) Thread.Sleep(late);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                all[r].Barrier();
                return clock.Elapsed;
            });
            Assert.True(outcomes[0].Get<TimeSpan>() >= late * 0.8, $"rank 0 left after {outcomes[0].Get<TimeSpan>()}");
            Assert.True(outcomes[2].Get<TimeSpan>() >= late * 0.8, $"rank 2 left after {outcomes[2].Get<TimeSpan>()}");
        }
        finally
        {
            DisposeAll(all);
        }
    }

    [Fact]
    public void A_rank_waits_for_rank_0_to_write_the_file_and_ignores_the_file_of_an_earlier_run()
    {
        string path = PathFor("reused");
        EpRendezvous[] earlier = Group(path, 2);
        RankRunner.Run(2, r => earlier[r].Share(() => [1, 1, 1]));
        DisposeAll(earlier);
        Assert.True(File.Exists(path));

        EpRendezvous[] now = Group(path, 2);
        try
        {
            RankOutcome[] outcomes = RankRunner.Run(2, r =>
            {
                if (r == 0) Thread.Sleep(300); // rank 1 finds only the earlier run's file at first
                return now[r].Share(() => [2, 2]);
            });
            Assert.Equal([2, 2], outcomes[1].Get<byte[]>());
            Assert.Equal([2, 2], outcomes[0].Get<byte[]>());
        }
        finally
        {
            DisposeAll(now);
        }
    }

    [Fact]
    public void A_rank_times_out_with_the_path_when_rank_0_never_writes()
    {
        string path = PathFor("nobody");
        using EpRendezvous rdv = EpRendezvous.File(path, 2, 3, TimeSpan.FromMilliseconds(500));
        EpRendezvousException e = Assert.Throws<EpRendezvousException>(() => rdv.Share(() => [1]));
        Assert.True(e.TimedOut);
        Assert.Equal(2, e.Rank);
        Assert.Contains($"Rank 2 of 3 (rendezvous file:{path})", e.Message, StringComparison.Ordinal);
        Assert.Contains("rank 0 did not start the rendezvous within 0.5 s", e.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_a_rendezvous_file_is_named_in_the_time_out()
    {
        string path = PathFor("garbage");
        Directory.CreateDirectory(Folder);
        File.WriteAllText(path, "hello");
        using EpRendezvous rdv = EpRendezvous.File(path, 1, 2, TimeSpan.FromMilliseconds(300));
        EpRendezvousException e = Assert.Throws<EpRendezvousException>(() => rdv.Barrier());
        Assert.Contains("exists but is not an NcclEp rendezvous file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rank_0_times_out_naming_the_ranks_that_never_came_and_the_others_are_told()
    {
        string path = PathFor("missing");
        using EpRendezvous root = EpRendezvous.File(path, 0, 4, TimeSpan.FromMilliseconds(800));
        using EpRendezvous patient = EpRendezvous.File(path, 2, 4, TimeSpan.FromSeconds(8));
        RankOutcome[] outcomes = RankRunner.Run(2, r => (r == 0 ? root : patient).Share(() => [4]));
        EpRendezvousException e = outcomes[0].Failed<EpRendezvousException>();
        Assert.True(e.TimedOut);
        Assert.Contains("ranks 1, 3 did not arrive at step 0 (the ranks to join) within 0.8 s", e.Message, StringComparison.Ordinal);
        EpRendezvousException told = outcomes[1].Failed<EpRendezvousException>();
        Assert.Contains("rank 0 aborted the rendezvous", told.Message, StringComparison.Ordinal);
        Assert.True(outcomes[1].Finished < TimeSpan.FromSeconds(5), $"rank 2 learnt of it after {outcomes[1].Finished}");
    }

    [Fact]
    public void Ranks_given_different_world_sizes_fail_with_a_message_that_says_so()
    {
        string path = PathFor("worlds");
        using EpRendezvous root = EpRendezvous.File(path, 0, 2, TimeSpan.FromSeconds(8));
        using EpRendezvous other = EpRendezvous.File(path, 1, 3, TimeSpan.FromSeconds(8));
        RankOutcome[] outcomes = RankRunner.Run(2, r => (r == 0 ? root : other).Share(() => [1]));
        EpRendezvousException e = outcomes[1].Failed<EpRendezvousException>();
        Assert.Contains("for a world of 2 ranks, but this rank was started with a world size of 3", e.Message, StringComparison.Ordinal);
        EpRendezvousException told = outcomes[0].Failed<EpRendezvousException>();
        Assert.Contains("rank 1 aborted the rendezvous", told.Message, StringComparison.Ordinal);
        Assert.True(outcomes[0].Finished < TimeSpan.FromSeconds(2), $"rank 0 learnt of it after {outcomes[0].Finished}");
    }

    [Fact]
    public void When_rank_0_cannot_make_the_payload_the_others_fail_at_once_with_its_reason()
    {
        EpRendezvous[] all = Group(PathFor("boom"), 3);
        try
        {
            RankOutcome[] outcomes = RankRunner.Run(3, r =>
            {
                all[r].Barrier();
                return all[r].Share(() => throw new InvalidOperationException("no unique id today"));
            });
            Assert.Equal("no unique id today", outcomes[0].Failed<InvalidOperationException>().Message);
            for (int r = 1; r < 3; r++)
            {
                Assert.Contains("rank 0 aborted the rendezvous: rank 0: no unique id today", outcomes[r].Failed<EpRendezvousException>().Message, StringComparison.Ordinal);
                Assert.True(outcomes[r].Finished < TimeSpan.FromSeconds(5));
            }
        }
        finally
        {
            DisposeAll(all);
        }
    }

    [Fact]
    public void A_rank_that_aborts_stops_rank_0_and_through_it_the_others()
    {
        EpRendezvous[] all = Group(PathFor("abort"), 3);
        try
        {
            RankOutcome[] outcomes = RankRunner.Run(3, r =>
            {
                all[r].Share(() => [1]);
                if (r == 2)
                {
                    all[r].Abort("rank 2 could not create its group: no NVLink");
                    return null;
                }
                all[r].Barrier();
                return null;
            });
            Assert.Contains("rank 2 aborted the rendezvous: rank 2 could not create its group: no NVLink", outcomes[0].Failed<EpRendezvousException>().Message, StringComparison.Ordinal);
            Assert.Contains("no NVLink", outcomes[1].Failed<EpRendezvousException>().Message, StringComparison.Ordinal);
        }
        finally
        {
            DisposeAll(all);
        }
    }

    [Fact]
    public void A_folder_is_refused_as_the_path()
    {
        Directory.CreateDirectory(Folder);
        ArgumentException e = Assert.Throws<ArgumentException>(() => EpRendezvous.File(Folder, 0, 2));
        Assert.Contains("is a folder", e.Message, StringComparison.Ordinal);
    }
}
