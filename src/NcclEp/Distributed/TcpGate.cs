using System;
using System.Collections.Generic;
using System.Net.Sockets;
using System.Text;

namespace NcclEp.Distributed;

/// <summary>
/// Rank 0's door: accepts connections and runs all their handshakes (<see cref="TcpHandshake"/>) side by side on the
/// calling thread (non-blocking sockets and one poll), each with its own deadline, so silent, slow or hostile
/// connections (hundreds) do not delay an honest rank. A connection that breaks the protocol, fails the secret or
/// claims a wrong or taken rank is dropped and noted in <see cref="Log"/>; nothing a stranger does ends the wait.
/// </summary>
internal sealed class TcpGate
{
    /// <summary>Longest time one connection may take to finish its handshake.</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Connections handshaking at once; past this, the oldest is dropped.</summary>
    public const int MaxPending = 512;

    private const int AcceptsPerRound = 64;
    private const string NotSaid = "rank 0 refused this rank: its rank is out of range, its world size is not rank 0's, or its rank connected twice (another process holds it); rank 0's own error says which";

    private readonly Socket _listener;
    private readonly RendezvousSecret? _secret;
    private readonly TcpChannel?[] _peers;
    private readonly List<Joiner> _pending = [];
    private readonly Dictionary<Socket, Joiner> _bySocket = [];

    public TcpGate(Socket listener, RendezvousSecret? secret, TcpChannel?[] peers)
    {
        _listener = listener;
        _secret = secret;
        _peers = peers;
    }

    public StrangerLog Log { get; } = new();

    private int WorldSize => _peers.Length;

    /// <summary>Admits ranks until every one of 1..W-1 has joined (true) or <paramref name="deadline"/> passes (false).
    /// Connections still handshaking at the end are closed.</summary>
    public bool AdmitAll(Deadline deadline)
    {
        var readable = new List<Socket>(MaxPending + 1);
        try
        {
            while (Missing() > 0)
            {
                if (deadline.Expired) return false;
                readable.Clear();
                readable.Add(_listener);
                foreach (Joiner j in _pending) readable.Add(j.Socket);
                Socket.Select(readable, null, null, (int)Math.Min(50_000, deadline.Remaining.TotalMicroseconds + 1));
                foreach (Socket socket in readable)
                {
                    if (socket == _listener) AcceptSome(deadline);
                    else if (_bySocket.TryGetValue(socket, out Joiner? j)) Read(j);
                }
                DropExpired();
            }
            return true;
        }
        finally
        {
            foreach (Joiner j in _pending) TcpFrames.Close(j.Socket);
            _pending.Clear();
            _bySocket.Clear();
        }
    }

    public int Missing()
    {
        int missing = 0;
        for (int r = 1; r < _peers.Length; r++) if (_peers[r] is null) missing++;
        return missing;
    }

    private void AcceptSome(Deadline deadline)
    {
        for (int i = 0; i < AcceptsPerRound && _listener.Poll(0, SelectMode.SelectRead); i++)
        {
            Socket socket;
            try
            {
                socket = _listener.Accept();
            }
            catch (SocketException)
            {
                return; // the peer reset before it was accepted
            }
            if (_pending.Count >= MaxPending) Drop(_pending[0], null);
            socket.Blocking = false;
            socket.NoDelay = true;
            var j = new Joiner(socket, socket.RemoteEndPoint?.ToString() ?? "?", Deadline.Min(deadline, Deadline.After(HandshakeTimeout)));
            _pending.Add(j);
            _bySocket.Add(socket, j);
        }
    }

    private void DropExpired()
    {
        for (int i = _pending.Count - 1; i >= 0; i--)
        {
            if (_pending[i].Deadline.Expired) Drop(_pending[i], null);
        }
    }

    /// <summary>Closes a connection; a reason goes to the log by name, none counts it as quiet.</summary>
    private void Drop(Joiner j, string? reason)
    {
        if (reason is null) Log.Quiet();
        else Log.Refused(reason);
        _pending.Remove(j);
        _bySocket.Remove(j.Socket);
        TcpFrames.Close(j.Socket);
    }

    /// <summary>Reads what has arrived (never more than the frame in progress needs) and acts on a whole frame.</summary>
    private void Read(Joiner j)
    {
        int n;
        try
        {
            n = j.Socket.Receive(j.Buffer, j.Filled, j.Needed - j.Filled, SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock) return;
            if (error != SocketError.Success) n = 0;
        }
        catch (ObjectDisposedException)
        {
            n = 0;
        }
        if (n == 0)
        {
            Drop(j, null);
            return;
        }
        j.Filled += n;
        if (j.Filled < j.Needed) return;
        string? bad = TcpFrames.ParseHeader(j.Buffer, TcpHandshake.MaxBodyBytes, out TcpFrameType type, out _, out int length);
        if (bad is not null)
        {
            Drop(j, $"a connection from {j.From} {bad}");
            return;
        }
        if (j.Needed == TcpFrames.HeaderBytes && length > 0)
        {
            j.Needed += length;
            return;
        }
        byte[] body = j.Buffer.AsSpan(TcpFrames.HeaderBytes, length).ToArray();
        j.Filled = 0;
        j.Needed = TcpFrames.HeaderBytes;
        if (j.RankNonce is null) OnHello(j, type, body);
        else OnJoin(j, type, body);
    }

    private void OnHello(Joiner j, TcpFrameType type, byte[] body)
    {
        if (type != TcpFrameType.Hello)
        {
            Drop(j, $"a connection from {j.From} sent {Name(type)} before saying hello");
            return;
        }
        int version = TcpHandshake.VersionOf(body);
        if (version != TcpHandshake.Version)
        {
            // Old and new NcclEp on one job is a real mistake: say so (it tells a stranger nothing about the job).
            if (version > 0) Tell(j, $"rank 0 speaks rendezvous version {TcpHandshake.Version}, not {version}: run one NcclEp version on every rank");
            Drop(j, version < 0 ? $"a connection from {j.From} sent an empty hello" : $"a peer at {j.From} speaks rendezvous version {version}, not {TcpHandshake.Version}");
            return;
        }
        if (!TcpHandshake.TryReadHello(body, out bool hasSecret, out byte[] rankNonce))
        {
            Drop(j, $"a connection from {j.From} sent a malformed hello");
            return;
        }
        if (hasSecret != (_secret is not null))
        {
            string why = _secret is not null
                ? $"rank 0 requires the job secret ({EpRendezvousOptions.SecretVariable}), and this rank has none"
                : $"rank 0 has no job secret, but this rank has one: give every rank the same {EpRendezvousOptions.SecretVariable}";
            Tell(j, why);
            Drop(j, $"a peer at {j.From} {(hasSecret ? "has a job secret and rank 0 none" : "has no job secret")}");
            return;
        }
        j.RankNonce = rankNonce;
        j.RootNonce = TcpHandshake.NewNonce();
        byte[]? proof = _secret?.RootProof(j.RankNonce, j.RootNonce);
        if (!j.Channel.TrySendWithoutWaiting(TcpFrameType.Challenge, 0, TcpHandshake.Challenge(j.RootNonce, proof))) Drop(j, null);
    }

    private void OnJoin(Joiner j, TcpFrameType type, byte[] body)
    {
        if (type != TcpFrameType.Join || !TcpHandshake.TryReadJoin(body, _secret is not null, out byte[] claim, out int rank, out int world, out byte[] proof))
        {
            Drop(j, $"a connection from {j.From} sent {Name(type)} of {body.Length} bytes where a join was expected");
            return;
        }
        if (_secret is not null)
        {
            if (!RendezvousSecret.Matches(_secret.RankProof(j.RankNonce!, j.RootNonce!, claim), proof))
            {
                Drop(j, $"a peer at {j.From} did not prove the job secret");
                return;
            }
            j.Channel.Authenticate(_secret.ToRankKey(j.RankNonce!, j.RootNonce!), _secret.ToRootKey(j.RankNonce!, j.RootNonce!));
        }

        string? refusal =
            world != WorldSize ? $"rank {rank} (at {j.From}) was started with a world size of {world}, but rank 0 has {WorldSize}; every rank must be given the same world size"
            : rank < 1 || rank >= WorldSize ? $"a peer at {j.From} says it is rank {rank}; ranks 1..{WorldSize - 1} are expected"
            : _peers[rank] is not null ? $"rank {rank} connected twice (again from {j.From}); two processes were given the same rank"
            : null;
        if (refusal is not null)
        {
            // Only a peer that proved the secret is told why; without a secret every refusal reads the same.
            Tell(j, _secret is not null ? refusal : NotSaid);
            Drop(j, refusal);
            return;
        }
        if (!j.Channel.TrySendWithoutWaiting(TcpFrameType.Welcome, 0, []))
        {
            Drop(j, $"rank {rank} (at {j.From}) closed before its welcome");
            return;
        }
        _pending.Remove(j);
        _bySocket.Remove(j.Socket);
        j.Socket.Blocking = true;
        _peers[rank] = j.Channel;
    }

    private static void Tell(Joiner j, string text) => j.Channel.TrySendWithoutWaiting(TcpFrameType.Abort, 0, Encoding.UTF8.GetBytes(text));

    private static string Name(TcpFrameType type) => Enum.IsDefined(type) ? type.ToString() : $"frame type {(int)type}";

    private sealed class Joiner(Socket socket, string from, Deadline deadline)
    {
        public Socket Socket { get; } = socket;

        public TcpChannel Channel { get; } = new(socket);

        public string From { get; } = from;

        public Deadline Deadline { get; } = deadline;

        public byte[] Buffer { get; } = new byte[TcpFrames.HeaderBytes + TcpHandshake.MaxBodyBytes];

        public int Filled { get; set; }

        public int Needed { get; set; } = TcpFrames.HeaderBytes;

        public byte[]? RankNonce { get; set; }

        public byte[]? RootNonce { get; set; }
    }
}
