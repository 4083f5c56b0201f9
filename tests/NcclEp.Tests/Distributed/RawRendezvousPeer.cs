using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NcclEp.Distributed;

namespace NcclEp.Tests.Distributed;

/// <summary>
/// A hand-written peer of the TCP rendezvous for hostile and broken clients and servers: it writes frames byte by
/// byte from the documented format (16-byte header: "NCRV", type, 3 reserved, step, length; little-endian), not
/// through the library's code, and reads whatever comes back.
/// </summary>
internal sealed class RawRendezvousPeer : IDisposable
{
    public const byte Hello = 1, Welcome = 2, Payload = 3, Abort = 6, Challenge = 7, Join = 8;

    /// <summary>How long a test waits for one answer of rank 0 (generous: an answer takes milliseconds).</summary>
    public static readonly TimeSpan Answer = TimeSpan.FromSeconds(5);

    public RawRendezvousPeer(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    /// <summary>The port of a rendezvous address (tcp:HOST:PORT).</summary>
    public static int PortOf(EpRendezvous rendezvous) =>
        int.Parse(rendezvous.Address[(rendezvous.Address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/> (blocking, bounded by the kernel's backlog).</summary>
    public static RawRendezvousPeer Connect(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        return new RawRendezvousPeer(socket);
    }

    /// <summary>Starts a connect without waiting for it (so a full backlog cannot stall the test).</summary>
    public static Socket ConnectWithoutWaiting(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
        try
        {
            socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
        }
        return socket;
    }

    public static byte[] Frame(byte type, int step, ReadOnlySpan<byte> body, int length = -1)
    {
        var frame = new byte[16 + body.Length];
        "NCRV"u8.CopyTo(frame);
        frame[4] = type;
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(8), step);
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(12), length < 0 ? body.Length : length);
        body.CopyTo(frame.AsSpan(16));
        return frame;
    }

    /// <summary>A version-2 hello: version, flags (1: has the secret), a 32-byte nonce.</summary>
    public static byte[] HelloV2(bool hasSecret, byte[] nonce)
    {
        var body = new byte[40];
        BinaryPrimitives.WriteInt32LittleEndian(body, 2);
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(4), hasSecret ? 1 : 0);
        nonce.CopyTo(body, 8);
        return Frame(Hello, 0, body);
    }

    /// <summary>A join: rank, world size, then the proof (if any).</summary>
    public static byte[] JoinFrame(int rank, int world, byte[] proof)
    {
        var body = new byte[8 + proof.Length];
        BinaryPrimitives.WriteInt32LittleEndian(body, rank);
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(4), world);
        proof.CopyTo(body, 8);
        return Frame(Join, 0, body);
    }

    /// <summary>Integers little-endian, as a hello or join body holds them.</summary>
    public static byte[] Ints(params int[] values)
    {
        var body = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(i * 4), values[i]);
        return body;
    }

    public void Send(byte[] bytes) => Socket.Send(bytes);

    /// <summary>One frame (with <paramref name="tagBytes"/> after its body), or null if the peer closed or said nothing in time.</summary>
    public (byte Type, byte[] Body)? ReadFrame(TimeSpan limit, int tagBytes = 0)
    {
        byte[]? header = ReadExactly(16, limit);
        if (header is null) return null;
        int length = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(12));
        if (length < 0 || length > 1 << 20) return null;
        byte[]? body = ReadExactly(length + tagBytes, limit);
        return body is null ? null : (header[4], body[..length]);
    }

    /// <summary>One frame as sent, header, body and the <paramref name="tagBytes"/> after it (to pass on or to change).</summary>
    public byte[] ReadFrameBytes(TimeSpan limit, int tagBytes = 0)
    {
        byte[] header = ReadExactly(16, limit) ?? throw new InvalidOperationException("the peer closed or said nothing");
        int length = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(12));
        byte[] rest = ReadExactly(length + tagBytes, limit) ?? throw new InvalidOperationException("the peer closed mid-frame");
        return [.. header, .. rest];
    }

    /// <summary>Everything the peer sends until it closes (or <paramref name="limit"/> passes).</summary>
    public byte[] ReadToEnd(TimeSpan limit)
    {
        var all = new List<byte>();
        var chunk = new byte[4096];
        Socket.ReceiveTimeout = (int)limit.TotalMilliseconds;
        try
        {
            int n;
            while ((n = Socket.Receive(chunk)) > 0) all.AddRange(chunk.AsSpan(0, n));
        }
        catch (SocketException)
        {
        }
        return [.. all];
    }

    public void Dispose() => Socket.Dispose();

    private byte[]? ReadExactly(int count, TimeSpan limit)
    {
        var bytes = new byte[count];
        Socket.ReceiveTimeout = (int)limit.TotalMilliseconds;
        int read = 0;
        try
        {
            while (read < count)
            {
                int n = Socket.Receive(bytes, read, count - read, SocketFlags.None);
                if (n == 0) return null;
                read += n;
            }
        }
        catch (SocketException)
        {
            return null;
        }
        return bytes;
    }
}
