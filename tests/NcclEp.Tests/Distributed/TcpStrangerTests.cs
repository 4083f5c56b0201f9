using System;
using System.Collections.Generic;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using NcclEp.Distributed;
using Xunit;

namespace NcclEp.Tests.Distributed;

/// <summary>
/// Broken and hostile clients against rank 0 of a TCP rendezvous without a secret, on 127.0.0.1: none of them ends
/// the rendezvous, they learn nothing about the job, and honest ranks meet as if they were not there.
/// </summary>
public class TcpStrangerTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    /// <summary>Frames that break the protocol at the first step (each from its own connection).</summary>
    private static IEnumerable<(string What, byte[] Bytes)> BrokenFirstFrames()
    {
        yield return ("an empty hello", Convert.FromHexString("4E435256010000000000000000000000"));
        yield return ("a hello of version 1", RawRendezvousPeer.Frame(RawRendezvousPeer.Hello, 0, RawRendezvousPeer.Ints(1, 1, 3)));
        yield return ("a hello of version 2 in version 1's shape", RawRendezvousPeer.Frame(RawRendezvousPeer.Hello, 0, RawRendezvousPeer.Ints(2, 1, 3)));
        yield return ("not a rendezvous frame", "GET / HTTP/1.0\r\n\r\n"u8.ToArray());
        yield return ("a 2 GiB frame", RawRendezvousPeer.Frame(RawRendezvousPeer.Hello, 0, [], length: int.MaxValue));
        yield return ("a payload instead of a hello", RawRendezvousPeer.Frame(RawRendezvousPeer.Payload, 1, [1, 2, 3]));
    }

    /// <summary>Claims a version-2 client makes after a proper hello: wrong rank or world size (world 3 expected).</summary>
    private static readonly (int Rank, int World)[] WrongClaims = [(7, 3), (0, 3), (-1, 3), (1, 9)];

    /// <summary>Says hello properly (no secret), then claims <paramref name="rank"/> of <paramref name="world"/>;
    /// returns what rank 0 answered to the claim (null: nothing), or throws if the hello itself was not answered.</summary>
    private static string? Claim(int port, int rank, int world)
    {
        using RawRendezvousPeer peer = RawRendezvousPeer.Connect(port);
        peer.Send(RawRendezvousPeer.HelloV2(hasSecret: false, RandomNumberGenerator.GetBytes(32)));
        (byte type, byte[] body) = peer.ReadFrame(RawRendezvousPeer.Answer) ?? throw new InvalidOperationException("rank 0 did not answer the hello");
        Assert.Equal(RawRendezvousPeer.Challenge, type);
        Assert.Equal(32, body.Length); // a nonce, and no proof without a secret
        peer.Send(RawRendezvousPeer.JoinFrame(rank, world, []));
        if (peer.ReadFrame(RawRendezvousPeer.Answer) is not { } answer) return null;
        Assert.Equal(RawRendezvousPeer.Abort, answer.Type);
        Assert.Empty(peer.ReadToEnd(RawRendezvousPeer.Answer)); // and then it closed
        return Encoding.UTF8.GetString(answer.Body);
    }

    [Fact]
    public void Connections_that_break_the_protocol_are_dropped_the_ranks_still_meet_and_the_strangers_learn_nothing()
    {
        using EpRendezvous root = EpRendezvous.Tcp("127.0.0.1", 0, 0, 3, Generous);
        int port = RawRendezvousPeer.PortOf(root);
        using EpRendezvous one = EpRendezvous.Parse(root.Address, 1, 3, Generous);
        using EpRendezvous two = EpRendezvous.Parse(root.Address, 2, 3, Generous);
        byte[] id = RandomNumberGenerator.GetBytes(128);
        int calls = 0;
        var probed = new ManualResetEventSlim();
        var broken = new List<(string What, RawRendezvousPeer Peer)>();
        string?[] told = new string?[WrongClaims.Length];
        try
        {
            foreach ((string what, byte[] bytes) in BrokenFirstFrames())
            {
                RawRendezvousPeer peer = RawRendezvousPeer.Connect(port);
                broken.Add((what, peer));
                peer.Send(bytes);
            }
            RankOutcome[] outcomes = RankRunner.Run(4, r =>
            {
                if (r == 0) return root.Share(() => { Interlocked.Increment(ref calls); return id; });
                if (r == 3)
                {
                    for (int i = 0; i < WrongClaims.Length; i++) told[i] = Claim(port, WrongClaims[i].Rank, WrongClaims[i].World);
                    probed.Set();
                    return null;
                }
                Assert.True(probed.Wait(Generous), "the strangers' probes did not finish");
                return (r == 1 ? one : two).Share(() => [0]);
            });

            for (int r = 0; r < 3; r++) Assert.Equal(id, outcomes[r].Get<byte[]>());
            outcomes[3].Get<object?>();
            Assert.Equal(1, calls);
            foreach ((string what, RawRendezvousPeer peer) in broken)
            {
                byte[] reply = peer.ReadToEnd(RawRendezvousPeer.Answer);
                if (what == "a hello of version 1")
                {
                    // An older NcclEp rank is told which version rank 0 speaks (its own abort frame), nothing else.
                    Assert.Contains("rendezvous version 2, not 1", Encoding.UTF8.GetString(reply), StringComparison.Ordinal);
                }
                else
                {
                    Assert.True(reply.Length == 0, $"{what}: rank 0 answered {reply.Length} bytes");
                }
            }
            for (int i = 0; i < told.Length; i++)
            {
                // Every wrong claim reads the same, and nothing in it says what the world size or the ranks are.
                Assert.NotNull(told[i]);
                Assert.Equal(told[0], told[i]);
                Assert.DoesNotContain("3", told[i]!, StringComparison.Ordinal);
                Assert.Contains("rank 0 refused this rank", told[i]!, StringComparison.Ordinal);
            }
        }
        finally
        {
            foreach ((_, RawRendezvousPeer peer) in broken) peer.Dispose();
        }
    }

    [Fact]
    public void When_the_ranks_do_not_meet_rank_0_names_the_connections_it_dropped()
    {
        using EpRendezvous root = EpRendezvous.Tcp("127.0.0.1", 0, 0, 3, TimeSpan.FromSeconds(2));
        int port = RawRendezvousPeer.PortOf(root);
        using EpRendezvous patient = EpRendezvous.Parse(root.Address, 1, 3, Generous);
        RankOutcome[] outcomes = RankRunner.Run(3, r =>
        {
            if (r == 0) return root.Share(() => [1]);
            if (r == 1) return patient.Share(() => [0]);
            // One stranger at a time, each until rank 0 has closed it, so the order of the refusals is known.
            Claim(port, 1, 9);
            Claim(port, 7, 3);
            foreach ((_, byte[] bytes) in BrokenFirstFrames())
            {
                using RawRendezvousPeer peer = RawRendezvousPeer.Connect(port);
                peer.Send(bytes);
                peer.ReadToEnd(RawRendezvousPeer.Answer);
            }
            return null;
        });

        // Rank 2 never came: rank 0 waited its whole time-out (the strangers did not stop it) and says what it refused.
        EpRendezvousException e = outcomes[0].Failed<EpRendezvousException>();
        Assert.True(e.TimedOut);
        Assert.Contains("rank 2 did not connect within 2 s (1 of 2 did); refused 8 connections: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("world size of 9, but rank 0 has 3", e.Message, StringComparison.Ordinal);
        Assert.Contains("says it is rank 7; ranks 1..2 are expected", e.Message, StringComparison.Ordinal);
        Assert.Contains("sent an empty hello", e.Message, StringComparison.Ordinal);
        Assert.Contains("speaks rendezvous version 1, not 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("sent a malformed hello", e.Message, StringComparison.Ordinal);
        Assert.Contains("is not an NcclEp rendezvous frame", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("(and 2 more).", e.Message, StringComparison.Ordinal); // the 2 GiB frame and the early payload
        outcomes[2].Get<object?>();
        EpRendezvousException told = outcomes[1].Failed<EpRendezvousException>();
        Assert.Contains("rank 0 aborted the rendezvous", told.Message, StringComparison.Ordinal);
        Assert.Contains("rank 2 did not connect", told.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_hundred_silent_or_slow_connections_do_not_delay_the_ranks()
    {
        TimeSpan alone = MeetingTime(strangers: 0, out _);
        TimeSpan crowded = MeetingTime(strangers: 200, out byte[][] got);
        foreach (byte[] payload in got) Assert.Equal([7, 7], payload);
        Assert.True(crowded < alone + TimeSpan.FromSeconds(1), $"the ranks met in {crowded} behind 200 silent connections, {alone} without");
    }

    /// <summary>How long three ranks take to meet (the slowest rank's Share) behind <paramref name="strangers"/>
    /// connections that were opened first and never finish a hello (most say nothing, every tenth half a header).</summary>
    private static TimeSpan MeetingTime(int strangers, out byte[][] payloads)
    {
        using EpRendezvous root = EpRendezvous.Tcp("127.0.0.1", 0, 0, 3, TimeSpan.FromSeconds(8));
        int port = RawRendezvousPeer.PortOf(root);
        var silent = new List<Socket>();
        try
        {
            for (int i = 0; i < strangers; i++) silent.Add(RawRendezvousPeer.ConnectWithoutWaiting(port));
            Thread.Sleep(strangers > 0 ? 200 : 0); // let every connect complete into rank 0's backlog
            for (int i = 0; i < silent.Count; i += 10)
            {
                try
                {
                    silent[i].Send("NCRV"u8);
                }
                catch (SocketException)
                {
                }
            }
            using EpRendezvous one = EpRendezvous.Parse(root.Address, 1, 3, TimeSpan.FromSeconds(8));
            using EpRendezvous two = EpRendezvous.Parse(root.Address, 2, 3, TimeSpan.FromSeconds(8));
            EpRendezvous[] all = [root, one, two];
            RankOutcome[] outcomes = RankRunner.Run(3, r => all[r].Share(() => [7, 7]));
            payloads = Array.ConvertAll(outcomes, o => o.Get<byte[]>());
            TimeSpan slowest = TimeSpan.Zero;
            foreach (RankOutcome o in outcomes) if (o.Finished > slowest) slowest = o.Finished;
            return slowest;
        }
        finally
        {
            foreach (Socket s in silent) s.Dispose();
        }
    }
}
