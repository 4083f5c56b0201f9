using System;
using System.Buffers.Binary;
using System.IO;
using System.Text;
using IOFile = System.IO.File;

namespace NcclEp.Distributed;

/// <summary>What a rendezvous file says.</summary>
internal enum FileRecordKind
{
    Payload = 0,
    Release = 1,
    Abort = 2,
    Ready = 3,
}

/// <summary>Rank 0's record: the step it is at, and that step's payload (for step 0 and <see cref="FileRecordKind.Payload"/>, the start of a run).</summary>
internal sealed record FileRecord(int World, int Step, FileRecordKind Kind, byte[] Nonce, DateTime Written, byte[] Payload);

/// <summary>Rank r's acknowledgement of a step (or its abort).</summary>
internal sealed record FileAck(int World, int Step, FileRecordKind Kind, byte[] Nonce, string Message);

/// <summary>
/// The files of one job's file rendezvous and their format (version 2). Every file carries the job's tag (from the
/// secret and the job id) and, with a secret, a MAC over its content; files of another job, another version or
/// another secret are never taken for this job's. A job with a secret or a job id has its own file names beside the
/// path, so jobs given one path stay apart. Reads are bounded in size; files are created readable by their owner
/// only (and the folder, if rank 0 creates it). Every write goes to a temporary file renamed into place, so a reader
/// sees the old or the new content, never half of it.
/// </summary>
internal sealed class FileRecords
{
    public const int NonceBytes = 16;

    /// <summary>The longest abort message kept in a file (longer ones are cut).</summary>
    public const int MaxMessageChars = 4096;

    private const int Version = 2;
    private const int TagBytes = 32;
    private const int HasMacFlag = 1;
    private const int Common = 8 + 4 + 4 + TagBytes; // magic, version, flags, job tag
    private const int RecordHeader = Common + 4 + 4 + 4 + NonceBytes + 8 + 4;
    private const int AckHeader = Common + 4 + 4 + 4 + 4 + NonceBytes + 4;
    private const int MaxAckMessageBytes = MaxMessageChars * 4;

    private readonly RendezvousSecret? _secret;
    private readonly byte[] _tag;

    public FileRecords(string path, RendezvousSecret? secret, string? jobId)
    {
        _secret = secret;
        _tag = secret is not null ? secret.JobTag(jobId) : jobId is not null ? RendezvousSecret.PublicJobTag(jobId) : new byte[TagBytes];
        RecordPath = secret is null && jobId is null ? path : $"{path}.job-{Convert.ToHexStringLower(_tag, 0, 8)}";
    }

    private static ReadOnlySpan<byte> RecordMagic => "NCRVFILE"u8;

    private static ReadOnlySpan<byte> AckMagic => "NCRVACK1"u8;

    /// <summary>The file rank 0 writes.</summary>
    public string RecordPath { get; }

    private int MacBytes => _secret is null ? 0 : RendezvousSecret.MacBytes;

    /// <summary>The file rank <paramref name="rank"/> acknowledges steps in.</summary>
    public string AckPath(int rank) => $"{RecordPath}.rank{rank}";

    /// <summary>Creates the folder (owner only, where the system has modes) if it does not exist.</summary>
    public static void CreateFolder(string folder)
    {
        if (Directory.Exists(folder)) return;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(folder);
        else Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public void WriteRecord(int world, int step, FileRecordKind kind, byte[] nonce, byte[] payload)
    {
        var bytes = new byte[RecordHeader + payload.Length + MacBytes];
        Span<byte> s = bytes;
        int at = WriteCommon(s, RecordMagic);
        at = Int(s, at, world);
        at = Int(s, at, step);
        at = Int(s, at, (int)kind);
        nonce.CopyTo(s[at..]);
        at += NonceBytes;
        BinaryPrimitives.WriteInt64LittleEndian(s[at..], DateTime.UtcNow.Ticks);
        at = Int(s, at + 8, payload.Length);
        payload.CopyTo(s[at..]);
        Seal(bytes);
        WriteAtomically(RecordPath, bytes);
    }

    public void WriteAck(int rank, int world, int step, FileRecordKind kind, byte[] nonce, string message)
    {
        byte[] text = Encoding.UTF8.GetBytes(message.Length > MaxMessageChars ? message[..MaxMessageChars] : message);
        var bytes = new byte[AckHeader + text.Length + MacBytes];
        Span<byte> s = bytes;
        int at = WriteCommon(s, AckMagic);
        at = Int(s, at, world);
        at = Int(s, at, rank);
        at = Int(s, at, step);
        at = Int(s, at, (int)kind);
        nonce.CopyTo(s[at..]);
        at = Int(s, at + NonceBytes, text.Length);
        text.CopyTo(s[at..]);
        Seal(bytes);
        WriteAtomically(AckPath(rank), bytes);
    }

    /// <summary>Rank 0's record, or null (<paramref name="ignored"/> says why, if the file exists).</summary>
    public FileRecord? ReadRecord(out string? ignored)
    {
        ReadOnlySpan<byte> s = Read(RecordPath, RecordHeader + EpRendezvous.MaxPayloadBytes + MacBytes, RecordMagic, out ignored);
        if (ignored is not null || s.IsEmpty) return null;
        int length = s.Length >= RecordHeader ? BinaryPrimitives.ReadInt32LittleEndian(s[(RecordHeader - 4)..]) : -1;
        if (length < 0 || length != s.Length - RecordHeader)
        {
            ignored = $"{RecordPath} is damaged (its length fields disagree)";
            return null;
        }
        long ticks = BinaryPrimitives.ReadInt64LittleEndian(s[(RecordHeader - 12)..]);
        return new FileRecord(
            World: BinaryPrimitives.ReadInt32LittleEndian(s[Common..]),
            Step: BinaryPrimitives.ReadInt32LittleEndian(s[(Common + 4)..]),
            Kind: (FileRecordKind)BinaryPrimitives.ReadInt32LittleEndian(s[(Common + 8)..]),
            Nonce: s.Slice(Common + 12, NonceBytes).ToArray(),
            Written: ticks >= DateTime.MinValue.Ticks && ticks <= DateTime.MaxValue.Ticks ? new DateTime(ticks, DateTimeKind.Utc) : DateTime.MinValue,
            Payload: s[RecordHeader..].ToArray());
    }

    /// <summary>Rank <paramref name="rank"/>'s acknowledgement, or null (<paramref name="ignored"/> says why, if the file exists).</summary>
    public FileAck? ReadAck(int rank, out string? ignored)
    {
        string path = AckPath(rank);
        ReadOnlySpan<byte> s = Read(path, AckHeader + MaxAckMessageBytes + MacBytes, AckMagic, out ignored);
        if (ignored is not null || s.IsEmpty) return null;
        int length = s.Length >= AckHeader ? BinaryPrimitives.ReadInt32LittleEndian(s[(AckHeader - 4)..]) : -1;
        if (length < 0 || length != s.Length - AckHeader || BinaryPrimitives.ReadInt32LittleEndian(s[(Common + 4)..]) != rank)
        {
            ignored = $"{path} is damaged or not rank {rank}'s";
            return null;
        }
        return new FileAck(
            World: BinaryPrimitives.ReadInt32LittleEndian(s[Common..]),
            Step: BinaryPrimitives.ReadInt32LittleEndian(s[(Common + 8)..]),
            Kind: (FileRecordKind)BinaryPrimitives.ReadInt32LittleEndian(s[(Common + 12)..]),
            Nonce: s.Slice(Common + 16, NonceBytes).ToArray(),
            Message: Encoding.UTF8.GetString(s[AckHeader..]));
    }

    /// <summary>Deletes a file if it is there (best effort).</summary>
    public static void TryDelete(string path)
    {
        try
        {
            IOFile.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private int WriteCommon(Span<byte> s, ReadOnlySpan<byte> magic)
    {
        magic.CopyTo(s);
        int at = Int(s, 8, Version);
        at = Int(s, at, _secret is null ? 0 : HasMacFlag);
        _tag.CopyTo(s[at..]);
        return at + TagBytes;
    }

    private static int Int(Span<byte> s, int at, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(s[at..], value);
        return at + 4;
    }

    /// <summary>Writes the MAC into the last bytes (with a secret).</summary>
    private void Seal(byte[] bytes)
    {
        if (_secret is null) return;
        int content = bytes.Length - RendezvousSecret.MacBytes;
        _secret.FileMac(bytes.AsSpan(0, content)).CopyTo(bytes, content);
    }

    /// <summary>
    /// The content of this job's file at <paramref name="path"/> without its MAC: empty if there is none; with
    /// <paramref name="ignored"/> set if it is too large (not read), not a rendezvous file, of another version, job or
    /// secret, or fails its MAC.
    /// </summary>
    private ReadOnlySpan<byte> Read(string path, int maxBytes, ReadOnlySpan<byte> magic, out string? ignored)
    {
        ignored = null;
        byte[]? bytes = ReadBounded(path, maxBytes, out long size);
        if (bytes is null)
        {
            if (size > maxBytes) ignored = $"{path} is {size} bytes, more than a rendezvous file can be; it was not read";
            return [];
        }
        ReadOnlySpan<byte> s = bytes;
        if (s.Length < Common || !s[..8].SequenceEqual(magic))
        {
            ignored = $"{path} exists but is not an NcclEp rendezvous file";
            return [];
        }
        int flags = BinaryPrimitives.ReadInt32LittleEndian(s[12..]);
        if (BinaryPrimitives.ReadInt32LittleEndian(s[8..]) != Version || (flags & ~HasMacFlag) != 0)
        {
            ignored = $"{path} was written by another version of NcclEp's rendezvous";
            return [];
        }
        if ((flags == HasMacFlag) != (_secret is not null))
        {
            ignored = _secret is null ? $"{path} was written by a rank with a job secret (this rank has none)" : $"{path} was written without the job secret";
            return [];
        }
        if (!s.Slice(16, TagBytes).SequenceEqual(_tag))
        {
            ignored = $"{path} belongs to another job";
            return [];
        }
        if (_secret is null) return s;
        int content = s.Length - RendezvousSecret.MacBytes;
        if (content < Common || !RendezvousSecret.Matches(_secret.FileMac(s[..content]), s[content..]))
        {
            ignored = $"{path} fails the check of the job secret (another secret, or changed since it was written)";
            return [];
        }
        return s[..content];
    }

    /// <summary>The file's bytes, or null if it is missing, unreadable or larger than <paramref name="maxBytes"/>
    /// (<paramref name="size"/> then says how large; nothing of that size is allocated).</summary>
    private static byte[]? ReadBounded(string path, int maxBytes, out long size)
    {
        size = 0;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            size = file.Length;
            if (size > maxBytes) return null;
            var bytes = new byte[size];
            int read = 0;
            while (read < bytes.Length)
            {
                int n = file.Read(bytes, read, bytes.Length - read);
                if (n == 0) break;
                read += n;
            }
            return read == bytes.Length ? bytes : bytes[..read];
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void WriteAtomically(string target, byte[] bytes)
    {
        string temp = $"{target}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var file = new FileStream(temp, options))
            {
                file.Write(bytes);
            }
            IOFile.Move(temp, target, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }
}
