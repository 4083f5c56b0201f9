using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NcclEp.Distributed;

/// <summary>
/// Ranks meet over TCP in a star: rank 0 listens, every other rank connects to it (retrying until the time-out)
/// and keeps the connection for later steps. Frames: <see cref="TcpFrames"/>. Joining: <see cref="TcpHandshake"/>
/// (rank 0's side, all connections at once: <see cref="TcpGate"/>; with a secret, both sides prove it and every later
/// frame carries a MAC). Share: rank 0 sends Payload to each rank. Barrier: each rank sends Ready; when rank 0 has
/// them all it sends Release. A failing rank sends Abort so the others stop at once.
/// </summary>
internal sealed partial class TcpRendezvous : EpRendezvous
{
    private readonly string _host;
    private readonly RendezvousSecret? _secret;
    private readonly TcpChannel?[] _peers;
    private Socket? _listener;
    private TcpChannel? _root;
    private int _port;
    private int _sequence;
    private bool _joined;

    public TcpRendezvous(string host, int port, int rank, int worldSize, TimeSpan timeout, int localRank, EpRendezvousOptions options)
        : base(rank, worldSize, timeout, localRank)
    {
        _host = host;
        _port = port;
        _secret = RendezvousSecret.From(options.Secret);
        _peers = new TcpChannel?[worldSize];
        if (worldSize > 1 && _secret is null && !IsLoopback(host))
        {
            options.Warn(
                $"NcclEp: the rendezvous at {FormatAddress(host, port)} has no job secret: any process that can reach that address can take a rank, " +
                $"receive the NCCL unique id or pose as rank 0. Give every rank the same {EpRendezvousOptions.SecretVariable} (or EpRendezvousOptions.Secret); " +
                $"{EpRendezvousOptions.RequireSecretVariable}=1 refuses to run without one.");
        }
        if (rank == 0 && worldSize > 1) _listener = Listen();
    }

    public override string Address => FormatAddress(_host, _port);

    /// <summary>The port rank 0 listens on (the one asked for, or the free one it took for port 0).</summary>
    internal int Port => _port;

    internal static string FormatAddress(string host, int port) =>
        string.Create(CultureInfo.InvariantCulture, $"tcp:{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{port}");

    /// <summary>Whether <paramref name="host"/> names this machine's loopback (a literal loopback address or localhost).</summary>
    internal static bool IsLoopback(string host) =>
        IPAddress.TryParse(host, out IPAddress? address) ? IPAddress.IsLoopback(address)
        : host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase);

    protected override byte[] ShareCore(Func<byte[]> createPayload)
    {
        Deadline deadline = Deadline.After(Timeout);
        Join(deadline);
        int step = ++_sequence;
        if (Rank == 0)
        {
            byte[] payload = CreatePayload(createPayload);
            for (int r = 1; r < WorldSize; r++) SendTo(r, TcpFrameType.Payload, step, payload);
            return payload;
        }
        return Expect(_root!, 0, TcpFrameType.Payload, step, deadline, "the payload");
    }

    protected override void BarrierCore()
    {
        Deadline deadline = Deadline.After(Timeout);
        Join(deadline);
        int step = ++_sequence;
        if (Rank == 0)
        {
            GatherReady(step, deadline);
            for (int r = 1; r < WorldSize; r++) SendTo(r, TcpFrameType.Release, step, []);
        }
        else
        {
            SendTo(0, TcpFrameType.Ready, step, []);
            Expect(_root!, 0, TcpFrameType.Release, step, deadline, "the release of the barrier (another rank may not have arrived)");
        }
    }

    protected override void OnFailed(string reason)
    {
        byte[] text = Encoding.UTF8.GetBytes(reason);
        if (Rank == 0)
        {
            for (int r = 1; r < WorldSize; r++) _peers[r]?.TrySend(TcpFrameType.Abort, _sequence, text);
        }
        else
        {
            _root?.TrySend(TcpFrameType.Abort, _sequence, text);
        }
    }

    protected override void Dispose(bool disposing)
    {
        foreach (TcpChannel? peer in _peers) peer?.Dispose();
        _root?.Dispose();
        _listener?.Dispose();
        base.Dispose(disposing);
    }

    private void Join(Deadline deadline)
    {
        if (_joined) return;
        if (Rank == 0) AdmitAll(deadline);
        else Connect(deadline);
        _joined = true;
    }

    /// <summary>Rank 0: admits every other rank (strangers are dropped, never fatal), then stops listening.</summary>
    private void AdmitAll(Deadline deadline)
    {
        var gate = new TcpGate(_listener!, _secret, _peers);
        bool all;
        try
        {
            all = gate.AdmitAll(deadline);
        }
        finally
        {
            _listener!.Dispose(); // a rank that comes later is refused at once and retries until its own time-out
            _listener = null;
        }
        if (all) return;
        var absent = new List<int>();
        for (int r = 1; r < WorldSize; r++) if (_peers[r] is null) absent.Add(r);
        throw Failure($"{(absent.Count == 1 ? "rank" : "ranks")} {string.Join(", ", absent)} did not connect within {Seconds(Timeout)} ({WorldSize - 1 - absent.Count} of {WorldSize - 1} did)" +
            gate.Log.Describe($"did not finish joining within {Seconds(TcpGate.HandshakeTimeout)} or closed first"), timedOut: true);
    }

    /// <summary>Rank 0: waits until every other rank has sent Ready for <paramref name="step"/>.</summary>
    private void GatherReady(int step, Deadline deadline)
    {
        var pending = new List<int>();
        for (int r = 1; r < WorldSize; r++) pending.Add(r);
        var readable = new List<Socket>();
        while (pending.Count > 0)
        {
            if (deadline.Expired)
            {
                throw Failure($"{(pending.Count == 1 ? "rank" : "ranks")} {string.Join(", ", pending)} did not report ready (barrier step {step}) within {Seconds(Timeout)}; {WorldSize - 1 - pending.Count} of {WorldSize - 1} did", timedOut: true);
            }
            readable.Clear();
            foreach (int r in pending) readable.Add(_peers[r]!.Socket);
            Socket.Select(readable, null, null, (int)Math.Min(100_000, deadline.Remaining.TotalMicroseconds + 1));
            foreach (Socket socket in readable)
            {
                int r = pending.Find(p => _peers[p]!.Socket == socket);
                Expect(_peers[r]!, r, TcpFrameType.Ready, step, deadline, "ready");
                pending.Remove(r);
            }
        }
    }

    /// <summary>Reads one frame from rank <paramref name="from"/> and checks it is <paramref name="type"/> for <paramref name="step"/>.</summary>
    private byte[] Expect(TcpChannel channel, int from, TcpFrameType type, int step, Deadline deadline, string what)
    {
        TcpFrame frame = Receive(channel, from, step, deadline, what, MaxPayloadBytes);
        string peer = Peer(from);
        if (frame.Type == TcpFrameType.Abort)
            throw Failure($"{peer} aborted the rendezvous: {Encoding.UTF8.GetString(frame.Body)}", timedOut: false);
        if (frame.Type != type || frame.Step != step)
            throw Failure($"{peer} sent {frame.Type} for step {frame.Step} while this rank waited for {type} of step {step}: the ranks called Share and Barrier in different orders", timedOut: false);
        return frame.Body;
    }

    /// <summary>Reads one frame, turning the socket's failures into messages that name the peer and the wait.</summary>
    private TcpFrame Receive(TcpChannel channel, int from, int step, Deadline deadline, string what, int maxBody)
    {
        string peer = Peer(from);
        try
        {
            return channel.Receive(deadline, maxBody);
        }
        catch (InvalidDataException e)
        {
            throw Failure($"{peer} {e.Message}", timedOut: false);
        }
        catch (TimeoutException e)
        {
            throw Failure($"{peer} did not send {what} (step {step}) within {Seconds(Timeout)}", timedOut: true, e);
        }
        catch (EndOfStreamException e)
        {
            throw Failure($"the connection to {peer} closed while this rank waited for {what} (step {step}); did its process exit?", timedOut: false, e);
        }
        catch (SocketException e)
        {
            throw Failure($"the connection to {peer} failed while this rank waited for {what} (step {step}): {e.Message}", timedOut: false, e);
        }
    }

    private void SendTo(int rank, TcpFrameType type, int step, byte[] payload)
    {
        TcpChannel channel = rank == 0 ? _root! : _peers[rank]!;
        try
        {
            channel.Send(type, step, payload);
        }
        catch (SocketException e)
        {
            throw Failure($"cannot send {type} (step {step}) to {Peer(rank)}: {e.Message}; did its process exit?", timedOut: false, e);
        }
    }

    private static string Peer(int rank) => rank == 0 ? "rank 0" : $"rank {rank}";
}
