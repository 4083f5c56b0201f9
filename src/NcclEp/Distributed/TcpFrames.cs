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
    Challenge = 7,
    Join = 8,
}

/// <summary>
/// The TCP rendezvous' wire format: a 16-byte header (u32 magic "NCRV", u8 type, 3 reserved, i32 step, i32 body
/// length, little-endian) and the body; on an authenticated connection a 32-byte MAC follows the body
/// (<see cref="TcpChannel"/>). Reading with a deadline, and closing.
/// </summary>
internal static class TcpFrames
{
    public const int HeaderBytes = 16;
    public const uint Magic = 0x5652_434E; // "NCRV" little-endian

    public static void WriteHeader(Span<byte> header, TcpFrameType type, int step, int length)
    {
        header[..HeaderBytes].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        header[4] = (byte)type;
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], step);
        BinaryPrimitives.WriteInt32LittleEndian(header[12..], length);
    }

    /// <summary>Reads a header; null if it is sound and announces at most <paramref name="maxBody"/> bytes, else what is wrong
    /// (checked before anything of that size is allocated).</summary>
    public static string? ParseHeader(ReadOnlySpan<byte> header, int maxBody, out TcpFrameType type, out int step, out int length)
    {
        type = (TcpFrameType)header[4];
        step = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        length = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic) return "sent something that is not an NcclEp rendezvous frame";
        if (length < 0 || length > maxBody) return $"announced a frame of {length} bytes (at most {maxBody} here)";
        return null;
    }

    /// <summary>Fills <paramref name="buffer"/>; <see cref="TimeoutException"/> at the deadline, <see cref="EndOfStreamException"/> if the peer closed.</summary>
    public static void ReadExactly(Socket socket, Span<byte> buffer, Deadline deadline)
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

    public static void Close(Socket? socket)
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
