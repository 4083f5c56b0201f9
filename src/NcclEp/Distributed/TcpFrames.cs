using System;
using System.Buffers.Binary;
using System.IO;
using System.Net.Sockets;

namespace NcclEp.Distributed;

/// <summary>What a <see cref="TcpRendezvous"/> frame says (its header's type byte).</summary>
internal enum TcpFrameType : byte
{
    Hello = 1,
    Welcome = 2,
    Payload = 3,
    Ready = 4,
    Release = 5,
    Abort = 6,
}

/// <summary>
/// The TCP rendezvous' wire format: a 16-byte header (u32 magic "NCRV", u8 type, 3 reserved, i32 step, i32 payload
/// length, little-endian) and the payload; sending, reading with a deadline, and closing.
/// </summary>
internal static class TcpFrames
{
    public const int HeaderBytes = 16;
    public const uint Magic = 0x5652_434E; // "NCRV" little-endian

    internal static void Send(Socket socket, TcpFrameType type, int step, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[HeaderBytes + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, Magic);
        frame[4] = (byte)type;
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(8), step);
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(12), payload.Length);
        payload.CopyTo(frame.AsSpan(HeaderBytes));
        socket.SendTimeout = 10_000;
        int sent = 0;
        while (sent < frame.Length) sent += socket.Send(frame, sent, frame.Length - sent, SocketFlags.None);
    }

    internal static void TrySend(Socket socket, TcpFrameType type, int step, byte[] payload)
    {
        try
        {
            socket.SendTimeout = 1000;
            Send(socket, type, step, payload);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Fills <paramref name="buffer"/>; <see cref="TimeoutException"/> at the deadline, <see cref="EndOfStreamException"/> if the peer closed.</summary>
    internal static void ReadExactly(Socket socket, Span<byte> buffer, Deadline deadline)
    {
        int read = 0;
        while (read < buffer.Length)
        {
            if (deadline.Expired) throw new TimeoutException();
            socket.ReceiveTimeout = deadline.RemainingMilliseconds;
            int n;
            try
            {
                n = socket.Receive(buffer[read..], SocketFlags.None);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                throw new TimeoutException(e.Message, e);
            }
            if (n == 0) throw new EndOfStreamException();
            read += n;
        }
    }

    internal static void Close(Socket? socket)
    {
        if (socket is null) return;
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        socket.Dispose();
    }
}
