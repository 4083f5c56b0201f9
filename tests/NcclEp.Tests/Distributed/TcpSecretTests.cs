using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using NcclEp.Distributed;
using Xunit;

namespace NcclEp.Tests.Distributed;

/// <summary>
/// A TCP rendezvous with a job secret, on 127.0.0.1: a process without it gets neither a rank nor the payload, a
/// rank takes the payload only from a rank 0 that proved it, and a frame that did not come from rank 0 is refused.
/// </summary>
public class TcpSecretTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);
    private static readonly EpRendezvousOptions Job = new() { Secret = "job-secret-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16)) };
    private static readonly EpRendezvousOptions OtherJob = new() { Secret = "other-secret-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16)) };

    [Fact]
    public void Ranks_that_share_the_secret_meet_over_several_steps()
    {
        using EpRendezvous root = EpRendezvous.Tcp("127.0.0.1", 0, 0, 3, Generous, options: Job);
        using EpRendezvous one = EpRendezvous.Parse(root.Address, 1, 3, Generous, options: Job);
        using EpRendezvous two = EpRendezvous.Parse(root.Address, 2, 3, Generous, options: Job);
        EpRendezvous[] all = [root, one, two];
        byte[] id = RandomNumberGenerator.GetBytes(128);
        RankOutcome[] outcomes = RankRunner.Run(3, r =>
        {
            byte[] first = all[r].Share(() => id);
            all[r].Barrier();
            byte[] second = all[r].Share(() => [9]);
            return (first, second);
        });
        foreach (RankOutcome o in outcomes)
        {
            (byte[] first, byte[] second) = o.Get<(byte[], byte[])>();
            Assert.Equal(id, first);
            Assert.Equal([9], second);
        }
    }

    [Fact]
    public void A_process_without_the_secret_gets_neither_a_rank_nor_the_payload()
    {
        using EpRendezvous root = EpRendezvous.Tcp("127.0.0.1", 0, 0, 2, Generous, options: Job);
        using EpRendezvous noSecret = EpRendezvous.Parse(root.Address, 1, 2, Generous, options: null);
        using EpRendezvous wrongSecret = EpRendezvous.Parse(root.Address, 1, 2, Generous, options: OtherJob);
        using EpRendezvous real = EpRendezvous.Parse(root.Address, 1, 2, Generous, options: Job);
        byte[] id = RandomNumberGenerator.GetBytes(128);
        var triedFirst = new CountdownEvent(2);
        RankOutcome[] outcomes = RankRunner.Run(4, r =>
        {
            if (r == 0) return root.Share(() => id);
            if (r == 3)
            {
                Assert.True(triedFirst.Wait(Generous), "the impostors did not finish");
                return real.Share(() => [0]);
            }
            try
            {
                return (r == 1 ? noSecret : wrongSecret).Share(() => [0]);
            }
            finally
            {
                triedFirst.Signal();
            }
        });

        Assert.Equal(id, outcomes[0].Get<byte[]>());
        Assert.Equal(id, outcomes[3].Get<byte[]>());
        EpRendezvousException none = outcomes[1].Failed<EpRendezvousException>();
        Assert.Contains("refused the connection: rank 0 requires the job secret", none.Message, StringComparison.Ordinal);
        EpRendezvousException wrong = outcomes[2].Failed<EpRendezvousException>();
        Assert.Contains("could not prove the job secret", wrong.Message, StringComparison.Ordinal);
        foreach (RankOutcome o in new[] { outcomes[1], outcomes[2] })
        {
            Assert.False(o.Failed<EpRendezvousException>().TimedOut);
            Assert.True(o.Finished < TimeSpan.FromSeconds(5), $"an impostor was answered after {o.Finished}");
        }
    }

    [Fact]
    public void A_client_that_fails_the_proof_is_told_nothing_and_the_real_rank_still_joins()
    {
        using EpRendezvous root = EpRendezvous.Tcp("127.0.0.1", 0, 0, 2, Generous, options: Job);
        int port = RawRendezvousPeer.PortOf(root);
        using EpRendezvous real = EpRendezvous.Parse(root.Address, 1, 2, Generous, options: Job);
        byte[] id = RandomNumberGenerator.GetBytes(128);
        var probed = new ManualResetEventSlim();
        byte[] afterForgedJoin = [], toSecretless = [];
        RankOutcome[] outcomes = RankRunner.Run(3, r =>
        {
            if (r == 0) return root.Share(() => id);
            if (r == 1)
            {
                Assert.True(probed.Wait(Generous), "the probes did not finish");
                return real.Share(() => [0]);
            }
            // Claims the secret, gets rank 0's challenge (its nonce and proof), answers with a made-up proof for rank 1.
            using (RawRendezvousPeer forger = RawRendezvousPeer.Connect(port))
            {
                forger.Send(RawRendezvousPeer.HelloV2(hasSecret: true, RandomNumberGenerator.GetBytes(32)));
                (byte type, byte[] body) = forger.ReadFrame(RawRendezvousPeer.Answer) ?? throw new InvalidOperationException("no challenge");
                Assert.Equal(RawRendezvousPeer.Challenge, type);
                Assert.Equal(64, body.Length); // rank 0's nonce and its proof: nothing about the job
                forger.Send(RawRendezvousPeer.JoinFrame(1, 2, RandomNumberGenerator.GetBytes(32)));
                afterForgedJoin = forger.ReadToEnd(RawRendezvousPeer.Answer);
            }
            using (RawRendezvousPeer secretless = RawRendezvousPeer.Connect(port))
            {
                secretless.Send(RawRendezvousPeer.HelloV2(hasSecret: false, RandomNumberGenerator.GetBytes(32)));
                toSecretless = secretless.ReadToEnd(RawRendezvousPeer.Answer);
            }
            probed.Set();
            return null;
        });

        Assert.Equal(id, outcomes[0].Get<byte[]>());
        Assert.Equal(id, outcomes[1].Get<byte[]>());
        outcomes[2].Get<object?>();
        Assert.Empty(afterForgedJoin); // no welcome, no payload, no reason: the connection was closed
        string told = Encoding.UTF8.GetString(toSecretless.AsSpan(16));
        Assert.Equal(RawRendezvousPeer.Abort, toSecretless[4]);
        Assert.Contains("requires the job secret", told, StringComparison.Ordinal);
        Assert.DoesNotContain("2", told, StringComparison.Ordinal); // not the world size, nor any rank
    }

    [Fact]
    public void A_rank_does_not_take_the_payload_from_a_rank_0_that_cannot_prove_the_secret()
    {
        // Squatters on the port: a rank 0 of another job (another secret), one with no secret, and a hand-written
        // listener that answers every hello with a made-up challenge followed by a forged payload.
        byte[] forged = new byte[128];
        Array.Fill(forged, (byte)0xEE);
        using EpRendezvous otherRoot = EpRendezvous.Tcp("127.0.0.1", 0, 0, 2, TimeSpan.FromSeconds(2), options: OtherJob);
        using EpRendezvous openRoot = EpRendezvous.Tcp("127.0.0.1", 0, 0, 2, TimeSpan.FromSeconds(2));
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);
        int rawPort = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var victims = new[]
        {
            EpRendezvous.Parse(otherRoot.Address, 1, 2, Generous, options: Job),
            EpRendezvous.Parse(openRoot.Address, 1, 2, Generous, options: Job),
            EpRendezvous.Tcp("127.0.0.1", rawPort, 1, 2, Generous, options: Job),
        };
        try
        {
            RankOutcome[] outcomes = RankRunner.Run(6, r => r switch
            {
                0 => otherRoot.Share(() => forged),
                1 => openRoot.Share(() => forged),
                2 => ForgeOnce(listener, forged),
                _ => victims[r - 3].Share(() => [0]),
            });
            Assert.Contains("could not prove the job secret", outcomes[3].Failed<EpRendezvousException>().Message, StringComparison.Ordinal);
            Assert.Contains("rank 0 has no job secret, but this rank has one", outcomes[4].Failed<EpRendezvousException>().Message, StringComparison.Ordinal);
            Assert.Contains("could not prove the job secret", outcomes[5].Failed<EpRendezvousException>().Message, StringComparison.Ordinal);
            Assert.Equal(0, outcomes[2].Get<int>()); // the victim sent nothing after the hello: no claim, no join
            for (int r = 3; r < 6; r++) Assert.True(outcomes[r].Finished < TimeSpan.FromSeconds(5), $"victim {r} failed only after {outcomes[r].Finished}");
            // The squatters never got a rank either: they time out waiting.
            Assert.True(outcomes[0].Failed<EpRendezvousException>().TimedOut);
            Assert.True(outcomes[1].Failed<EpRendezvousException>().TimedOut);
        }
        finally
        {
            foreach (EpRendezvous v in victims) v.Dispose();
        }
    }

    /// <summary>Accepts one connection, reads its hello, sends a challenge with a made-up proof and then a forged
    /// payload; returns how many bytes the client sent after its hello.</summary>
    private static int ForgeOnce(Socket listener, byte[] forged)
    {
        Assert.True(listener.Poll(5_000_000, SelectMode.SelectRead), "the victim never connected");
        using var peer = new RawRendezvousPeer(listener.Accept());
        Assert.NotNull(peer.ReadFrame(RawRendezvousPeer.Answer));
        var challenge = new List<byte>(RawRendezvousPeer.Frame(RawRendezvousPeer.Challenge, 0, RandomNumberGenerator.GetBytes(64)));
        challenge.AddRange(RawRendezvousPeer.Frame(RawRendezvousPeer.Welcome, 0, []));
        challenge.AddRange(RawRendezvousPeer.Frame(RawRendezvousPeer.Payload, 1, forged));
        peer.Send([.. challenge]);
        return peer.ReadToEnd(RawRendezvousPeer.Answer).Length;
    }

    [Fact]
    public void A_payload_changed_on_the_way_is_refused()
    {
        // A relay between rank 1 and rank 0 passes the handshake and the welcome through, then changes the payload's
        // bytes (keeping rank 0's MAC): rank 1 must refuse it rather than return it.
        using EpRendezvous root = EpRendezvous.Tcp("127.0.0.1", 0, 0, 2, TimeSpan.FromSeconds(3), options: Job);
        using var relay = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        relay.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        relay.Listen(1);
        using EpRendezvous victim = EpRendezvous.Tcp("127.0.0.1", ((IPEndPoint)relay.LocalEndPoint!).Port, 1, 2, Generous, options: Job);
        byte[] id = RandomNumberGenerator.GetBytes(128);
        RankOutcome[] outcomes = RankRunner.Run(3, r =>
        {
            if (r == 0) return root.Share(() => id);
            if (r == 1) return victim.Share(() => [0]);
            Assert.True(relay.Poll(5_000_000, SelectMode.SelectRead), "rank 1 never connected");
            using var client = new RawRendezvousPeer(relay.Accept());
            using RawRendezvousPeer server = RawRendezvousPeer.Connect(RawRendezvousPeer.PortOf(root));
            const int Mac = 32;
            server.Send(client.ReadFrameBytes(RawRendezvousPeer.Answer));      // hello
            client.Send(server.ReadFrameBytes(RawRendezvousPeer.Answer));      // challenge: rank 0's nonce and proof
            server.Send(client.ReadFrameBytes(RawRendezvousPeer.Answer));      // join: the claim and rank 1's proof
            client.Send(server.ReadFrameBytes(RawRendezvousPeer.Answer, Mac)); // welcome, as rank 0 sent it
            byte[] payload = server.ReadFrameBytes(RawRendezvousPeer.Answer, Mac);
            Assert.Equal(RawRendezvousPeer.Payload, payload[4]);
            Assert.Equal(id, payload[16..^Mac]); // the payload itself is not encrypted (see the threat model)
            Array.Fill(payload, (byte)0xEE, 16, id.Length);
            client.Send(payload);
            return client.ReadFrameBytes(RawRendezvousPeer.Answer, Mac)[4]; // what rank 1 sent next
        });
        EpRendezvousException e = outcomes[1].Failed<EpRendezvousException>();
        Assert.Contains("rank 0 sent a frame whose MAC does not match the job secret", e.Message, StringComparison.Ordinal);
        Assert.Equal(RawRendezvousPeer.Abort, outcomes[2].Get<byte>());
    }
}
