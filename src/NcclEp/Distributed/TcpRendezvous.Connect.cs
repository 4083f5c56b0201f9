using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace NcclEp.Distributed;

/// <summary>Finding each other: rank 0 listens, a rank r connects and joins (<see cref="TcpHandshake"/>, the joining side).</summary>
internal sealed partial class TcpRendezvous
{
    /// <summary>Enough for a burst of hundreds of connections to wait for <see cref="TcpGate"/> without the kernel dropping any.</summary>
    private const int Backlog = 1024;

    private Socket Listen()
    {
        IPAddress[] addresses = Resolve(out string? dnsError);
        if (addresses.Length == 0)
            throw Failure($"rank 0 cannot resolve '{_host}' to an address to listen on ({dnsError})", timedOut: false);
        SocketException? last = null;
        foreach (IPAddress address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                socket.Bind(new IPEndPoint(address, _port));
                socket.Listen(Backlog);
                _port = ((IPEndPoint)socket.LocalEndPoint!).Port;
                return socket;
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
        }
        string why = last!.SocketErrorCode switch
        {
            SocketError.AddressAlreadyInUse => "the port is in use (another job, or a launcher's own store on MASTER_PORT?); pick another port, e.g. NCCLEP_RENDEZVOUS=tcp:HOST:PORT",
            SocketError.AddressNotAvailable => $"'{_host}' is not an address of this machine; rank 0 must run on the machine the address names",
            SocketError.AccessDenied => "permission denied (ports below 1024 need privileges)",
            _ => last.Message,
        };
        throw Failure($"rank 0 cannot listen: {why}", timedOut: false, last);
    }

    private IPAddress[] Resolve(out string? error)
    {
        error = null;
        if (IPAddress.TryParse(_host, out IPAddress? literal)) return [literal];
        try
        {
            IPAddress[] found = Dns.GetHostAddresses(_host);
            var ordered = new List<IPAddress>(found.Length);
            foreach (IPAddress a in found) if (a.AddressFamily == AddressFamily.InterNetwork) ordered.Add(a);
            foreach (IPAddress a in found) if (a.AddressFamily != AddressFamily.InterNetwork) ordered.Add(a);
            return [.. ordered];
        }
        catch (SocketException e)
        {
            error = e.Message;
            return [];
        }
    }

    /// <summary>Rank r: connects to rank 0, retrying while nobody answers, and joins.</summary>
    private void Connect(Deadline deadline)
    {
        int attempts = 0;
        string last = "none";
        int pause = 10;
        while (true)
        {
            IPAddress[] addresses = Resolve(out string? dnsError);
            if (addresses.Length == 0) last = $"cannot resolve '{_host}': {dnsError}";
            foreach (IPAddress address in addresses)
            {
                if (deadline.Expired) break;
                attempts++;
                var endPoint = new IPEndPoint(address, _port);
                var channel = new TcpChannel(new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });
                try
                {
                    ConnectWithin(channel.Socket, endPoint, Deadline.Min(deadline, Deadline.After(TimeSpan.FromSeconds(10))));
                    Handshake(channel, endPoint, deadline);
                    _root = channel;
                    return;
                }
                catch (EpRendezvousException e) when (!e.TimedOut && e.InnerException is IOException or SocketException)
                {
                    // Closed or reset before the welcome (rank 0 not ready, or it dropped us in a flood): try again.
                    last = e.Message;
                    channel.Dispose();
                }
                catch (Exception e) when (e is SocketException or IOException)
                {
                    last = e.Message;
                    channel.Dispose();
                }
                catch
                {
                    channel.Dispose();
                    throw;
                }
            }
            if (deadline.Expired)
                throw Failure($"could not reach rank 0 within {Seconds(Timeout)} ({attempts} attempts; last error: {last}). Is rank 0 running and listening at that address?", timedOut: true);
            Thread.Sleep(Math.Min(pause, deadline.RemainingMilliseconds));
            pause = Math.Min(pause * 2, 250);
        }
    }

    /// <summary>
    /// Rank r's side of <see cref="TcpHandshake"/>. It says nothing about itself until the listener has proven the secret
    /// (when there is one), and accepts nothing from a listener that has not.
    /// </summary>
    private void Handshake(TcpChannel channel, IPEndPoint endPoint, Deadline deadline)
    {
        byte[] rankNonce = TcpHandshake.NewNonce();
        channel.Send(TcpFrameType.Hello, 0, TcpHandshake.Hello(rankNonce, _secret is not null));
        TcpFrame challenge = Receive(channel, 0, 0, deadline, "its challenge", TcpHandshake.MaxBodyBytes);
        if (challenge.Type == TcpFrameType.Abort)
            throw Failure($"rank 0 (at {endPoint}) refused the connection: {Encoding.UTF8.GetString(challenge.Body)}", timedOut: false);
        if (challenge.Type != TcpFrameType.Challenge || !TcpHandshake.TryReadChallenge(challenge.Body, _secret is not null, out byte[] rootNonce, out byte[] rootProof))
            throw Failure($"the listener at {endPoint} answered the hello with {challenge.Type} of {challenge.Body.Length} bytes, not a challenge; is it an NcclEp rank 0 of this version?", timedOut: false);

        byte[] claim = TcpHandshake.Claim(Rank, WorldSize);
        byte[]? proof = null;
        if (_secret is not null)
        {
            if (!RendezvousSecret.Matches(_secret.RootProof(rankNonce, rootNonce), rootProof))
            {
                throw Failure($"the listener at {endPoint} could not prove the job secret: it is not this job's rank 0 (another job, or an impostor on the port) or it was given another secret; this rank told it nothing and took nothing from it", timedOut: false);
            }
            proof = _secret.RankProof(rankNonce, rootNonce, claim);
        }
        channel.Send(TcpFrameType.Join, 0, TcpHandshake.Join(claim, proof));
        if (_secret is not null) channel.Authenticate(_secret.ToRootKey(rankNonce, rootNonce), _secret.ToRankKey(rankNonce, rootNonce));

        TcpFrame answer = Receive(channel, 0, 0, deadline, "the welcome", TcpHandshake.MaxBodyBytes);
        if (answer.Type == TcpFrameType.Abort)
            throw Failure($"rank 0 refused this rank (rank {Rank}, started with a world size of {WorldSize}): {Encoding.UTF8.GetString(answer.Body)}", timedOut: false);
        if (answer.Type != TcpFrameType.Welcome)
            throw Failure($"rank 0 answered the join with {answer.Type}, not a welcome", timedOut: false);
    }

    /// <summary>
    /// A connect bounded by <paramref name="deadline"/>, all on this thread (a non-blocking connect and a poll): no
    /// thread-pool work, so a busy pool cannot delay it.
    /// </summary>
    private static void ConnectWithin(Socket socket, IPEndPoint endPoint, Deadline deadline)
    {
        socket.Blocking = false;
        try
        {
            socket.Connect(endPoint);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            if (!socket.Poll((int)Math.Min(int.MaxValue, deadline.Remaining.TotalMicroseconds + 1), SelectMode.SelectWrite))
                throw new IOException($"connect to {endPoint} timed out");
            int error = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
            if (error != 0) throw new IOException($"connect to {endPoint} failed: {new SocketException(error).Message}");
        }
        socket.Blocking = true;
    }
}
