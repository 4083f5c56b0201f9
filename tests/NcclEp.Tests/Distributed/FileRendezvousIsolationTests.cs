using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using NcclEp.Distributed;
using Xunit;

namespace NcclEp.Tests.Distributed;

/// <summary>
/// A file rendezvous keeps to its own job and run: jobs given one path stay apart, an earlier run's files are never
/// adopted, files are read within a size bound and created for their owner only, and a record changed without the
/// secret is ignored. Ranks as threads, in a fresh temporary folder.
/// </summary>
public sealed class FileRendezvousIsolationTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);
    private readonly ScratchFolder _scratch = new("ncclep-rdv-jobs-");

    public void Dispose() => _scratch.Dispose();

    private string PathFor(string name) => _scratch.PathFor(name);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Two_jobs_given_one_path_each_meet_only_their_own_ranks(bool bySecret)
    {
        string path = PathFor("shared");
        EpRendezvousOptions a = bySecret ? new() { Secret = "secret-of-job-a-" + Guid.NewGuid() } : new() { JobId = "job-a" };
        EpRendezvousOptions b = bySecret ? new() { Secret = "secret-of-job-b-" + Guid.NewGuid() } : new() { JobId = "job-b" };
        byte[] idA = RandomNumberGenerator.GetBytes(128), idB = RandomNumberGenerator.GetBytes(128);
        var ranks = new EpRendezvous[6];
        for (int i = 0; i < 6; i++) ranks[i] = EpRendezvous.File(path, i % 3, 3, Generous, options: i < 3 ? a : b);
        try
        {
            // Both jobs at once, each rank 0 last (the other ranks find the other job's files first).
            RankOutcome[] outcomes = RankRunner.Run(6, i =>
            {
                if (i % 3 == 0) Thread.Sleep(200);
                byte[] got = ranks[i].Share(() => i < 3 ? idA : idB);
                ranks[i].Barrier();
                return got;
            });
            for (int i = 0; i < 6; i++) Assert.Equal(i < 3 ? idA : idB, outcomes[i].Get<byte[]>());
            Assert.NotEqual(((FileRendezvous)ranks[0]).RecordPath, ((FileRendezvous)ranks[3]).RecordPath);
            Assert.StartsWith(path + ".job-", ((FileRendezvous)ranks[0]).RecordPath, StringComparison.Ordinal);
        }
        finally
        {
            foreach (EpRendezvous r in ranks) r.Dispose();
        }
    }

    [Fact]
    public void A_relaunch_right_after_a_failure_ignores_the_old_runs_abort()
    {
        string path = PathFor("relaunch");
        using (EpRendezvous failed = EpRendezvous.File(path, 0, 2, TimeSpan.FromMilliseconds(300)))
        {
            Assert.True(Assert.Throws<EpRendezvousException>(() => failed.Share(() => [1])).TimedOut); // it writes its abort
        }

        using EpRendezvous root = EpRendezvous.File(path, 0, 2, Generous);
        using EpRendezvous one = EpRendezvous.File(path, 1, 2, Generous);
        RankOutcome[] outcomes = RankRunner.Run(2, r =>
        {
            if (r == 0) Thread.Sleep(300); // rank 1 finds only the old run's abort at first
            return (r == 0 ? root : one).Share(() => [2, 2]);
        });
        Assert.Equal([2, 2], outcomes[1].Get<byte[]>());
        Assert.Equal([2, 2], outcomes[0].Get<byte[]>());
    }

    [Fact]
    public void A_start_left_by_a_run_that_died_gives_way_to_the_new_runs()
    {
        string path = PathFor("died");
        File.WriteAllBytes(path, RecordOfARunThatDies(path));

        using EpRendezvous root = EpRendezvous.File(path, 0, 2, Generous);
        using EpRendezvous one = EpRendezvous.File(path, 1, 2, Generous);
        RankOutcome[] outcomes = RankRunner.Run(2, r =>
        {
            if (r == 1) return one.Share(() => [0]); // it joins the dead run's start first
            Thread.Sleep(300);
            return root.Share(() => [3, 3]);
        });
        Assert.Equal([3, 3], outcomes[0].Get<byte[]>());
        Assert.Equal([3, 3], outcomes[1].Get<byte[]>());
        Assert.True(outcomes[1].Finished < TimeSpan.FromSeconds(5), $"rank 1 took {outcomes[1].Finished}");
    }

    [Fact]
    public void A_huge_acknowledgement_file_is_not_read()
    {
        string path = PathFor("huge");
        Directory.CreateDirectory(_scratch.Root);
        using (var huge = new FileStream(path + ".rank1", FileMode.CreateNew))
        {
            huge.SetLength(256L << 20); // sparse: costs no disk
        }
        using EpRendezvous root = EpRendezvous.File(path, 0, 2, TimeSpan.FromMilliseconds(600));
        long before = GC.GetAllocatedBytesForCurrentThread();
        EpRendezvousException e = Assert.Throws<EpRendezvousException>(() => root.Share(() => [1]));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 4L << 20, $"rank 0 allocated {allocated} bytes while polling a 256 MiB acknowledgement");
        Assert.Contains("rank 1 did not arrive at step 0", e.Message, StringComparison.Ordinal);
        Assert.Contains($"{path}.rank1 is {256L << 20} bytes, more than a rendezvous file can be; it was not read", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rendezvous_files_and_the_folder_rank_0_creates_are_for_their_owner_only()
    {
        if (OperatingSystem.IsWindows()) return; // no Unix modes there
        string path = PathFor("private/id");
        using EpRendezvous root = EpRendezvous.File(path, 0, 2, Generous);
        using EpRendezvous one = EpRendezvous.File(path, 1, 2, Generous);
        RankRunner.Run(2, r => (r == 0 ? root : one).Share(() => [4]));
        const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(OwnerReadWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(path)!));
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(path));
        Assert.Equal(OwnerReadWrite, File.GetUnixFileMode(path + ".rank1"));
    }

    [Fact]
    public void A_record_changed_by_someone_without_the_secret_is_ignored()
    {
        string path = PathFor("tampered");
        var job = new EpRendezvousOptions { Secret = "the-job-secret-" + Guid.NewGuid() };
        using EpRendezvous root = EpRendezvous.File(path, 0, 2, TimeSpan.FromSeconds(1.5), options: job);
        using EpRendezvous one = EpRendezvous.File(path, 1, 2, TimeSpan.FromMilliseconds(800), options: job);
        string record = ((FileRendezvous)root).RecordPath;
        RankOutcome[] outcomes = RankRunner.Run(2, r =>
        {
            if (r == 0) return root.Share(() => [5]);
            WaitForFile(record);
            byte[] bytes = File.ReadAllBytes(record);
            bytes[^40] ^= 1; // a byte of the record's content (its time), not of its MAC
            File.WriteAllBytes(record, bytes);
            return one.Share(() => [0]);
        });
        EpRendezvousException e = outcomes[1].Failed<EpRendezvousException>();
        Assert.Contains("fails the check of the job secret", e.Message, StringComparison.Ordinal);
        Assert.True(outcomes[0].Failed<EpRendezvousException>().TimedOut); // rank 1 never joined
    }

    /// <summary>The step-0 record that a run's rank 0 leaves if its process dies while the others join.</summary>
    private static byte[] RecordOfARunThatDies(string path)
    {
        using EpRendezvous doomed = EpRendezvous.File(path, 0, 2, TimeSpan.FromSeconds(1));
        byte[]? start = null;
        RankRunner.Run(2, r =>
        {
            if (r == 0) return Record.Exception(() => doomed.Share(() => [1]));
            WaitForFile(path);
            start = File.ReadAllBytes(path);
            return null;
        });
        return start!;
    }

    private static void WaitForFile(string path)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(path))
        {
            Assert.True(clock.Elapsed < Generous, $"{path} never appeared");
            Thread.Sleep(5);
        }
    }
}
