using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;

namespace NcclEp.Distributed;

/// <summary>
/// Ranks meet over TCP in a star: rank 0 listens, every other rank connects to it (retrying until the time-out)
/// and keeps the connection for later steps. Frames are a 16-byte header (magic, type, step, length) and a
/// payload. Joining: rank r sends Hello (version, rank, world size); rank 0 answers Welcome, or Abort with the
/// reason (wrong world size, a rank that is already there). Share: rank 0 sends Payload to each rank. Barrier:
/// each rank sends Ready; when rank 0 has them all it sends Release. A failing rank sends Abort so the others
/// stop at once.
/// </summary>
internal sealed class TcpRendezvous : EpRendezvous
{
    private const int Version = 1;
    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(5);

    private readonly string _host;
    private readonly Socket? _listener;
    private readonly Socket?[] _peers;
    private Socket? _root;
    private int _port;
    private int _sequence;
    private bool _joined;

    public TcpRendezvous(string host, int port, int rank, int worldSize, TimeSpan timeout, int localRank)
        : base(rank, worldSize, timeout, localRank)
    {
        _host = host;
        _port = port;
        _peers = new Socket?[worldSize];
        if (rank == 0 && worldSize > 1) _listener = Listen();
    }

    public override string Address => FormatAddress(_host, _port);

    /// <summary>The port rank 0 listens on (the one asked for, or the free one it took for port 0).</summary>
    internal int Port => _port;

    internal static string FormatAddress(string host, int port) =>
        string.Create(CultureInfo.InvariantCulture, $"tcp:{(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{port}");

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
            for (int r = 1; r < WorldSize; r++)
            {
                if (_peers[r] is { } peer) TcpFrames.TrySend(peer, TcpFrameType.Abort, _sequence, text);
            }
        }
        else if (_root is not null)
        {
            TcpFrames.TrySend(_root, TcpFrameType.Abort, _sequence, text);
        }
    }

    protected override void Dispose(bool disposing)
    {
        foreach (Socket? peer in _peers) TcpFrames.Close(peer);
        TcpFrames.Close(_root);
        _listener?.Dispose();
        base.Dispose(disposing);
    }

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
                socket.Listen(Math.Max(16, WorldSize));
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

    private void Join(Deadline deadline)
    {
        if (_joined) return;
        if (Rank == 0) AcceptAll(deadline);
        else Connect(deadline);
        _joined = true;
    }

    /// <summary>Rank 0: accepts until every other rank has said hello.</summary>
    private void AcceptAll(Deadline deadline)
    {
        int missing = WorldSize - 1;
        string? stray = null;
        while (missing > 0)
        {
            if (deadline.Expired)
            {
                var absent = new List<int>();
                for (int r = 1; r < WorldSize; r++) if (_peers[r] is null) absent.Add(r);
                throw Failure($"{(absent.Count == 1 ? "rank" : "ranks")} {string.Join(", ", absent)} did not connect within {Seconds(Timeout)} ({WorldSize - 1 - absent.Count} of {WorldSize - 1} did){(stray is null ? string.Empty : $"; also refused a connection: {stray}")}", timedOut: true);
            }
            if (!_listener!.Poll((int)Math.Min(100_000, deadline.Remaining.TotalMicroseconds + 1), SelectMode.SelectRead)) continue;
            Socket socket = _listener.Accept();
            string from = socket.RemoteEndPoint?.ToString() ?? "?";
            byte[] hello;
            try
            {
                socket.NoDelay = true;
                hello = Expect(socket, -1, TcpFrameType.Hello, 0, Deadline.Min(deadline, Deadline.After(HelloTimeout)), "a hello");
            }
            catch (EpRendezvousException e)
            {
                // Not one of ours, or a rank that gave up mid-way (it retries): drop it and keep waiting.
                stray = $"{from}: {e.Message}";
                TcpFrames.Close(socket);
                continue;
            }

            int version = hello.Length >= 12 ? BinaryPrimitives.ReadInt32LittleEndian(hello) : -1;
            int rank = hello.Length >= 12 ? BinaryPrimitives.ReadInt32LittleEndian(hello.AsSpan(4)) : -1;
            int world = hello.Length >= 12 ? BinaryPrimitives.ReadInt32LittleEndian(hello.AsSpan(8)) : -1;
            string? refusal =
                version != Version ? $"a peer at {from} speaks rendezvous version {version}, not {Version}"
                : world != WorldSize ? $"rank {rank} (at {from}) was started with a world size of {world}, but rank 0 has {WorldSize}; every rank must be given the same world size"
                : rank < 1 || rank >= WorldSize ? $"a peer at {from} says it is rank {rank}; ranks 1..{WorldSize - 1} are expected"
                : _peers[rank] is not null ? $"rank {rank} connected twice (again from {from}); two processes were given the same rank"
                : null;
            if (refusal is not null)
            {
                TcpFrames.TrySend(socket, TcpFrameType.Abort, 0, Encoding.UTF8.GetBytes($"rank 0 refused this rank: {refusal}"));
                TcpFrames.Close(socket);
                throw Failure(refusal, timedOut: false);
            }
            _peers[rank] = socket;
            missing--;
            SendTo(rank, TcpFrameType.Welcome, 0, []);
        }
    }

    /// <summary>Rank r: connects to rank 0, retrying until the deadline, and says hello.</summary>
    private void Connect(Deadline deadline)
    {
        int attempts = 0;
        string last = "none";
        int pause = 10;
        var hello = new byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(hello, Version);
        BinaryPrimitives.WriteInt32LittleEndian(hello.AsSpan(4), Rank);
        BinaryPrimitives.WriteInt32LittleEndian(hello.AsSpan(8), WorldSize);
        while (true)
        {
            IPAddress[] addresses = Resolve(out string? dnsError);
            if (addresses.Length == 0) last = $"cannot resolve '{_host}': {dnsError}";
            foreach (IPAddress address in addresses)
            {
                if (deadline.Expired) break;
                attempts++;
                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    ConnectWithin(socket, new IPEndPoint(address, _port), Deadline.Min(deadline, Deadline.After(TimeSpan.FromSeconds(10))));
                    TcpFrames.Send(socket, TcpFrameType.Hello, 0, hello);
                    Expect(socket, 0, TcpFrameType.Welcome, 0, deadline, "the welcome");
                    _root = socket;
                    return;
                }
                catch (EpRendezvousException e) when (!e.TimedOut && e.InnerException is IOException or SocketException)
                {
                    last = e.Message;
                    TcpFrames.Close(socket);
                }
                catch (Exception e) when (e is SocketException or IOException)
                {
                    last = e.Message;
                    TcpFrames.Close(socket);
                }
                catch
                {
                    TcpFrames.Close(socket);
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
            foreach (int r in pending) readable.Add(_peers[r]!);
            Socket.Select(readable, null, null, (int)Math.Min(100_000, deadline.Remaining.TotalMicroseconds + 1));
            foreach (Socket socket in readable)
            {
                int r = Array.IndexOf(_peers, socket);
                Expect(socket, r, TcpFrameType.Ready, step, deadline, "ready");
                pending.Remove(r);
            }
        }
    }

    /// <summary>Reads one frame from rank <paramref name="from"/> (-1: not known yet) and checks it is <paramref name="type"/> for <paramref name="step"/>.</summary>
    private byte[] Expect(Socket socket, int from, TcpFrameType type, int step, Deadline deadline, string what)
    {
        string peer = from < 0 ? "a new connection" : from == 0 ? "rank 0" : $"rank {from}";
        Span<byte> header = stackalloc byte[TcpFrames.HeaderBytes];
        try
        {
            TcpFrames.ReadExactly(socket, header, deadline);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header) != TcpFrames.Magic)
                throw Failure($"{peer} sent something that is not an NcclEp rendezvous frame", timedOut: false);
            var got = (TcpFrameType)header[4];
            int gotStep = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
            int length = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
            if (length < 0 || length > MaxPayloadBytes)
                throw Failure($"{peer} announced a frame of {length} bytes", timedOut: false);
            var body = new byte[length];
            TcpFrames.ReadExactly(socket, body, deadline);
            if (got == TcpFrameType.Abort)
                throw Failure($"{peer} aborted the rendezvous: {Encoding.UTF8.GetString(body)}", timedOut: false);
            if (got != type || gotStep != step)
                throw Failure($"{peer} sent {got} for step {gotStep} while this rank waited for {type} of step {step}: the ranks called Share and Barrier in different orders", timedOut: false);
            return body;
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
        Socket socket = rank == 0 ? _root! : _peers[rank]!;
        try
        {
            TcpFrames.Send(socket, type, step, payload);
        }
        catch (SocketException e)
        {
            throw Failure($"cannot send {type} (step {step}) to {(rank == 0 ? "rank 0" : $"rank {rank}")}: {e.Message}; did its process exit?", timedOut: false, e);
        }
    }
}
