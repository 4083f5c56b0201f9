using System;
using System.Buffers.Binary;
using System.IO;
using System.Net.Sockets;

namespace NcclEp.Distributed;

/// <summary>One frame as received.</summary>
internal readonly record struct TcpFrame(TcpFrameType Type, int Step, byte[] Body);

/// <summary>
/// One rendezvous connection. Once <see cref="Authenticate"/> has given it a key per direction (from the secret and
/// both nonces), every frame carries a MAC over a per-direction counter, the header and the body, checked on receipt
/// in constant time: a frame injected, replayed, reordered or sent back the other way fails.
/// </summary>
internal sealed class TcpChannel : IDisposable
{
    private byte[]? _sendKey;
    private byte[]? _receiveKey;
    private ulong _sent;
    private ulong _received;

    public TcpChannel(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    public bool Authenticated => _sendKey is not null;

    public void Authenticate(byte[] sendKey, byte[] receiveKey)
    {
        _sendKey = sendKey;
        _receiveKey = receiveKey;
    }

    /// <summary>Sends a whole frame (blocking, at most 10 s).</summary>
    public void Send(TcpFrameType type, int step, ReadOnlySpan<byte> body)
    {
        byte[] frame = Frame(type, step, body);
        Socket.SendTimeout = 10_000;
        int sent = 0;
        while (sent < frame.Length) sent += Socket.Send(frame, sent, frame.Length - sent, SocketFlags.None);
    }

    /// <summary>Sends a whole frame on a non-blocking socket in one call, or reports that it could not.</summary>
    public bool TrySendWithoutWaiting(TcpFrameType type, int step, ReadOnlySpan<byte> body)
    {
        byte[] frame = Frame(type, step, body);
        try
        {
            return Socket.Send(frame, 0, frame.Length, SocketFlags.None, out SocketError error) == frame.Length && error == SocketError.Success;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Best effort (telling peers of a failure): errors are ignored.</summary>
    public void TrySend(TcpFrameType type, int step, ReadOnlySpan<byte> body)
    {
        try
        {
            Socket.SendTimeout = 1000;
            Send(type, step, body);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// Reads one frame of at most <paramref name="maxBody"/> bytes (checked before allocating). <see cref="InvalidDataException"/>
    /// for a frame that is not the protocol's or fails its MAC; <see cref="TimeoutException"/>, <see cref="EndOfStreamException"/>
    /// or <see cref="SocketException"/> as the socket fails.
    /// </summary>
    public TcpFrame Receive(Deadline deadline, int maxBody)
    {
        Span<byte> header = stackalloc byte[TcpFrames.HeaderBytes];
        TcpFrames.ReadExactly(Socket, header, deadline);
        string? bad = TcpFrames.ParseHeader(header, maxBody, out TcpFrameType type, out int step, out int length);
        if (bad is not null) throw new InvalidDataException(bad);
        var body = new byte[length];
        TcpFrames.ReadExactly(Socket, body, deadline);
        if (_receiveKey is not null)
        {
            Span<byte> tag = stackalloc byte[RendezvousSecret.MacBytes];
            TcpFrames.ReadExactly(Socket, tag, deadline);
            if (!RendezvousSecret.Matches(Tag(_receiveKey, _received, header, body), tag))
                throw new InvalidDataException("sent a frame whose MAC does not match the job secret (forged, replayed or corrupted)");
            _received++;
        }
        return new TcpFrame(type, step, body);
    }

    public void Dispose() => TcpFrames.Close(Socket);

    private byte[] Frame(TcpFrameType type, int step, ReadOnlySpan<byte> body)
    {
        int tagBytes = _sendKey is null ? 0 : RendezvousSecret.MacBytes;
        var frame = new byte[TcpFrames.HeaderBytes + body.Length + tagBytes];
        TcpFrames.WriteHeader(frame, type, step, body.Length);
        body.CopyTo(frame.AsSpan(TcpFrames.HeaderBytes));
        if (_sendKey is not null)
        {
            Tag(_sendKey, _sent, frame.AsSpan(0, TcpFrames.HeaderBytes), body).CopyTo(frame.AsSpan(TcpFrames.HeaderBytes + body.Length));
            _sent++;
        }
        return frame;
    }

    private static byte[] Tag(byte[] key, ulong counter, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body)
    {
        Span<byte> count = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(count, counter);
        return RendezvousSecret.KeyedMac(key, count, header, body);
    }
}
