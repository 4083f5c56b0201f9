using System;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading;
using NcclEp.Distributed;
using Xunit;

namespace NcclEp.Tests.Distributed;

/// <summary>The TCP rendezvous on loopback (127.0.0.1 only), ranks as threads.</summary>
public class TcpRendezvousTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    /// <summary>Rank 0 on a free port; the others connect to the port it took.</summary>
    private static EpRendezvous[] Group(int world, TimeSpan? timeout = null)
    {
        var all = new EpRendezvous[world];
        all[0] = EpRendezvous.Tcp("127.0.0.1", 0, 0, world, timeout ?? Generous);
        for (int r = 1; r < world; r++) all[r] = EpRendezvous.Parse(all[0].Address, r, world, timeout ?? Generous);
        return all;
    }

    private static void DisposeAll(EpRendezvous[] all)
    {
        foreach (EpRendezvous r in all) r.Dispose();
    }

    [Fact]
    public void Every_rank_receives_the_payload_that_rank_0_made_and_only_rank_0_makes_it()
    {
        EpRendezvous[] all = Group(4);
        byte[] id = RandomNumberGenerator.GetBytes(128);
        int calls = 0;
        try
        {
            RankOutcome[] outcomes = RankRunner.Run(4, r => all[r].Share(() =>
            {
                Interlocked.Increment(ref calls);
                Assert.Equal(0, r);
                return id;
            }));
            foreach (RankOutcome o in outcomes) Assert.Equal(id, o.Get<byte[]>());
            Assert.Equal(1, calls);
            Assert.StartsWith("tcp:127.0.0.1:", all[0].Address, StringComparison.Ordinal);
            Assert.Equal(all[0].Address, all[3].Address);
        }
        finally
        {
            DisposeAll(all);
        }
    }

    [Fact]
    public void Several_steps_in_a_row_each_deliver_their_own_payload()
    {
        EpRendezvous[] all = Group(3);
        try
        {
            RankOutcome[] outcomes = RankRunner.Run(3, r =>
            {
                var got = new byte[3][];
                for (int step = 0; step < 3; step++)
                {
                    int s = step;
                    got[step] = all[r].Share(() => [(byte)(10 + s), 1, 2, 3]);
                    all[r].Barrier();
                }
                got[2] = all[r].Share(() => new byte[NcclUniqueIdBytes]);
                return got;
            });
            foreach (RankOutcome o in outcomes)
            {
                byte[][] got = o.Get<byte[][]>();
                Assert.Equal(10, got[0][0]);
                Assert.Equal(11, got[1][0]);
                Assert.Equal(NcclUniqueIdBytes, got[2].Length);
            }
        }
        finally
        {
            DisposeAll(all);
        }
    }

    private const int NcclUniqueIdBytes = 128;

    [Fact]
    public void The_barrier_holds_every_rank_until_the_last_one_arrives()
    {
        EpRendezvous[] all = Group(3);
        try
        {
            var late = TimeSpan.FromMilliseconds(400);
            RankOutcome[] outcomes = RankRunner.Run(3, r =>
            {
                all[r].Share(() => [1]);
                if (r == 2) Thread.Sleep(late);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                all[r].Barrier();
                return clock.Elapsed;
            });
            Assert.True(outcomes[0].Get<TimeSpan>() >= late * 0.8, $"rank 0 left the barrier after {outcomes[0].Get<TimeSpan>()}");
            Assert.True(outcomes[1].Get<TimeSpan>() >= late * 0.8, $"rank 1 left the barrier after {outcomes[1].Get<TimeSpan>()}");
        }
        finally
        {
            DisposeAll(all);
        }
    }

    [Fact]
    public void A_rank_that_starts_before_rank_0_listens_retries_until_it_can_connect()
    {
        int port = RankRunner.FreeLoopbackPort();
        RankOutcome[] outcomes = RankRunner.Run(2, r =>
        {
            if (r == 0) Thread.Sleep(500);
            using EpRendezvous rdv = EpRendezvous.Tcp("127.0.0.1", port, r, 2, Generous);
            return rdv.Share(() => [42]);
        });
        Assert.Equal([42], outcomes[0].Get<byte[]>());
        Assert.Equal([42], outcomes[1].Get<byte[]>());
    }

    [Fact]
    public void Rank_0_times_out_naming_the_ranks_that_never_connected_and_tells_the_others()
    {
        EpRendezvous[] all = Group(4, TimeSpan.FromSeconds(1));
        try
        {
            // Ranks 0 and 1 meet; ranks 2 and 3 never come. Rank 1 waits longer than rank 0 so it hears rank 0's abort.
            using EpRendezvous patient = EpRendezvous.Parse(all[0].Address, 1, 4, TimeSpan.FromSeconds(8));
            RankOutcome[] outcomes = RankRunner.Run(2, r => r == 0 ? all[0].Share(() => [7]) : patient.Share(() => [0]));

            EpRendezvousException root = outcomes[0].Failed<EpRendezvousException>();
            Assert.True(root.TimedOut);
            Assert.Equal(0, root.Rank);
            Assert.Equal(all[0].Address, root.Address);
            Assert.Contains("ranks 2, 3 did not connect within 1 s", root.Message, StringComparison.Ordinal);
            Assert.Contains(all[0].Address, root.Message, StringComparison.Ordinal);

            EpRendezvousException told = outcomes[1].Failed<EpRendezvousException>();
            Assert.False(told.TimedOut);
            Assert.Contains("rank 0 aborted the rendezvous", told.Message, StringComparison.Ordinal);
            Assert.Contains("ranks 2, 3 did not connect", told.Message, StringComparison.Ordinal);
            Assert.True(outcomes[1].Finished < TimeSpan.FromSeconds(5), $"rank 1 learnt of the failure only after {outcomes[1].Finished}");
        }
        finally
        {
            DisposeAll(all);
        }
    }

    [Fact]
    public void A_rank_gives_up_after_the_time_out_when_nobody_listens_and_names_the_address()
    {
        int port = RankRunner.FreeLoopbackPort();
        using EpRendezvous rdv = EpRendezvous.Tcp("127.0.0.1", port, 1, 2, TimeSpan.FromMilliseconds(600));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        EpRendezvousException e = Assert.Throws<EpRendezvousException>(() => rdv.Share(() => [1]));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        Assert.True(e.TimedOut);
        Assert.Equal(1, e.Rank);
        Assert.Contains($"Rank 1 of 2 (rendezvous tcp:127.0.0.1:{port})", e.Message, StringComparison.Ordinal);
        Assert.Contains("could not reach rank 0 within 0.6 s", e.Message, StringComparison.Ordinal);
        Assert.Contains("attempts; last error:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ranks_given_different_world_sizes_fail_with_a_message_that_says_so()
    {
        // The refused rank fails at once; rank 0 keeps waiting for a rank 1 that fits (a stranger could have sent
        // that hello), and names the refusal when its time-out ends.
        using EpRendezvous root = EpRendezvous.Tcp("127.0.0.1", 0, 0, 2, TimeSpan.FromSeconds(1.5));
        using EpRendezvous other = EpRendezvous.Parse(root.Address, 1, 3, Generous);
        RankOutcome[] outcomes = RankRunner.Run(2, r => (r == 0 ? root : other).Share(() => [1]));
        Assert.True(outcomes[1].Finished < TimeSpan.FromSeconds(1), $"the refused rank learnt of it after {outcomes[1].Finished}");
        EpRendezvousException e0 = outcomes[0].Failed<EpRendezvousException>();
        Assert.True(e0.TimedOut);
        Assert.Contains("rank 1 did not connect within 1.5 s", e0.Message, StringComparison.Ordinal);
        Assert.Contains("rank 1", e0.Message, StringComparison.Ordinal);
        Assert.Contains("world size of 3, but rank 0 has 2", e0.Message, StringComparison.Ordinal);
        EpRendezvousException e1 = outcomes[1].Failed<EpRendezvousException>();
        Assert.Contains("rank 0 refused this rank", e1.Message, StringComparison.Ordinal);
        Assert.Contains("world size of 3", e1.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_processes_with_the_same_rank_are_refused()
    {
        // Rank 2 never comes: rank 0 times out and names the second rank 1 it refused. The rank 1s wait longer, so
        // the one that got in hears rank 0's abort.
        using EpRendezvous root = EpRendezvous.Tcp("127.0.0.1", 0, 0, 3, TimeSpan.FromSeconds(1.5));
        using EpRendezvous first = EpRendezvous.Parse(root.Address, 1, 3, TimeSpan.FromSeconds(8));
        using EpRendezvous second = EpRendezvous.Parse(root.Address, 1, 3, TimeSpan.FromSeconds(8));
        RankOutcome[] outcomes = RankRunner.Run(3, r => (r == 0 ? root : r == 1 ? first : second).Share(() => [1]));
        Assert.Contains("rank 1 connected twice", outcomes[0].Failed<EpRendezvousException>().Message, StringComparison.Ordinal);
        Assert.Contains("rank 2 did not connect", outcomes[0].Failed<EpRendezvousException>().Message, StringComparison.Ordinal);
        // One of the two rank 1s was refused outright, the other learnt of rank 0's failure.
        Assert.Contains("connected twice", outcomes[1].Failed<EpRendezvousException>().Message, StringComparison.Ordinal);
        Assert.Contains("connected twice", outcomes[2].Failed<EpRendezvousException>().Message, StringComparison.Ordinal);
    }

    [Fact]
    public void When_rank_0_cannot_make_the_payload_the_others_fail_at_once_with_its_reason()
    {
        EpRendezvous[] all = Group(3);
        try
        {
            RankOutcome[] outcomes = RankRunner.Run(3, r => all[r].Share(() => throw new InvalidOperationException("no unique id today")));
            Assert.Equal("no unique id today", outcomes[0].Failed<InvalidOperationException>().Message);
            for (int r = 1; r < 3; r++)
            {
                EpRendezvousException e = outcomes[r].Failed<EpRendezvousException>();
                Assert.Contains("rank 0 aborted the rendezvous: rank 0: no unique id today", e.Message, StringComparison.Ordinal);
                Assert.True(outcomes[r].Finished < TimeSpan.FromSeconds(5));
            }
            // A failed rendezvous refuses further use on every rank.
            EpRendezvousException again = Assert.Throws<EpRendezvousException>(() => all[1].Barrier());
            Assert.Contains("failed earlier and cannot be used again", again.Message, StringComparison.Ordinal);
        }
        finally
        {
            DisposeAll(all);
        }
    }

    [Fact]
    public void Rank_0_reports_a_rank_whose_connection_closed_before_the_barrier()
    {
        EpRendezvous[] all = Group(3);
        try
        {
            RankOutcome[] outcomes = RankRunner.Run(3, r =>
            {
                all[r].Share(() => [5]);
                if (r == 2)
                {
                    all[r].Dispose(); // its process "exits"
                    return null;
                }
                all[r].Barrier();
                return null;
            });
            EpRendezvousException e = outcomes[0].Failed<EpRendezvousException>();
            Assert.Contains("the connection to rank 2 closed", e.Message, StringComparison.Ordinal);
            Assert.Contains("did its process exit?", e.Message, StringComparison.Ordinal);
            Assert.Contains("rank 0 aborted the rendezvous", outcomes[1].Failed<EpRendezvousException>().Message, StringComparison.Ordinal);
        }
        finally
        {
            DisposeAll(all);
        }
    }

    [Fact]
    public void A_rank_that_aborts_stops_the_others_waiting_at_the_barrier()
    {
        EpRendezvous[] all = Group(3);
        try
        {
            RankOutcome[] outcomes = RankRunner.Run(3, r =>
            {
                all[r].Share(() => [5]);
                if (r == 1)
                {
                    all[r].Abort("rank 1 could not create its group: GPU on fire");
                    return null;
                }
                all[r].Barrier();
                return null;
            });
            Assert.Contains("rank 1 aborted the rendezvous: rank 1 could not create its group: GPU on fire", outcomes[0].Failed<EpRendezvousException>().Message, StringComparison.Ordinal);
            Assert.Contains("GPU on fire", outcomes[2].Failed<EpRendezvousException>().Message, StringComparison.Ordinal);
            Assert.True(outcomes[2].Finished < TimeSpan.FromSeconds(5));
        }
        finally
        {
            DisposeAll(all);
        }
    }

    [Fact]
    public void A_port_in_use_fails_at_once_with_advice()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen(1);
        int port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        EpRendezvousException e = Assert.Throws<EpRendezvousException>(() => EpRendezvous.Tcp("127.0.0.1", port, 0, 2, Generous));
        Assert.Contains($"tcp:127.0.0.1:{port}", e.Message, StringComparison.Ordinal);
        Assert.Contains("the port is in use", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_world_of_one_opens_no_socket_and_needs_no_peer()
    {
        int port = RankRunner.FreeLoopbackPort();
        using EpRendezvous alone = EpRendezvous.Tcp("127.0.0.1", port, 0, 1, TimeSpan.FromMilliseconds(100));
        Assert.Equal([9, 9], alone.Share(() => [9, 9]));
        alone.Barrier();
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, port)); // the port is still free
    }

    [Fact]
    public void A_stray_connection_does_not_stop_rank_0_from_meeting_the_real_ranks()
    {
        using EpRendezvous root = EpRendezvous.Tcp("127.0.0.1", 0, 0, 2, Generous);
        int port = int.Parse(root.Address[(root.Address.LastIndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        using var stray = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        stray.Connect(new IPEndPoint(IPAddress.Loopback, port));
        stray.Send("GET / HTTP/1.0\r\n\r\n"u8);
        using EpRendezvous one = EpRendezvous.Parse(root.Address, 1, 2, Generous);
        RankOutcome[] outcomes = RankRunner.Run(2, r => (r == 0 ? root : one).Share(() => [3]));
        Assert.Equal([3], outcomes[0].Get<byte[]>());
        Assert.Equal([3], outcomes[1].Get<byte[]>());
    }
}
