using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using IOFile = System.IO.File;

namespace NcclEp.Distributed;

/// <summary>
/// Ranks meet through files on a file system they all see. Rank 0 owns the record at the path; rank r owns
/// <c>PATH.rank{r}</c> (its acknowledgement). Every write goes to a temporary file that is then renamed into
/// place, so a reader sees the old or the new content, never half of it.
/// </summary>
/// <remarks>
/// <para>Protocol, in steps numbered alike on every rank. Step 0 (joining, on first use): rank 0 picks a random
/// nonce and writes the record (step 0, world size, time); rank r waits for a step-0 record written less than
/// one time-out before it began to wait (older ones are left over from an earlier run), adopts its nonce and
/// acknowledges step 0; rank 0 waits for every acknowledgement. Later steps carry that nonce, so files of other
/// runs are ignored. Share (step s): rank 0 writes the payload as step s; rank r reads it. Barrier (step s):
/// rank r acknowledges s and waits for the record to reach step s (released) or beyond; rank 0 waits for every
/// acknowledgement of s, then writes the release. A failing rank writes an abort (rank 0 into the record, rank r
/// into its acknowledgement) so the others stop at once.</para>
/// <para>Rank 0 removes the acknowledgement files when it is disposed; the record stays (it holds a step past 0,
/// which a later run with the same path ignores). Use a fresh path per job all the same.</para>
/// </remarks>
internal sealed class FileRendezvous : EpRendezvous
{
    private const int Version = 1;
    private const int NonceBytes = 16;
    private const int RecordHeader = 8 + 4 + 4 + 4 + 4 + NonceBytes + 8 + 4;
    private const int AckHeader = 8 + 4 + 4 + 4 + 4 + 4 + NonceBytes + 4;
    private static readonly TimeSpan ClockSlack = TimeSpan.FromSeconds(10);

    private readonly string _path;
    private byte[]? _nonce;
    private int _sequence;
    private bool _joined;

    public FileRendezvous(string path, int rank, int worldSize, TimeSpan timeout, int localRank)
        : base(rank, worldSize, timeout, localRank)
    {
        _path = Path.GetFullPath(path);
        if (Directory.Exists(_path))
            throw new ArgumentException($"The rendezvous path {_path} is a folder; give the path of a file (that need not exist yet).", nameof(path));
    }

    private enum Kind
    {
        Payload = 0,
        Release = 1,
        Abort = 2,
        Ready = 3,
    }

    private static ReadOnlySpan<byte> RecordMagic => "NCRVFILE"u8;

    private static ReadOnlySpan<byte> AckMagic => "NCRVACK1"u8;

    public override string Address => "file:" + _path;

    /// <summary>The file rank 0 writes.</summary>
    internal string RecordPath => _path;

    /// <summary>The file rank <paramref name="rank"/> acknowledges steps in.</summary>
    internal string AckPath(int rank) => $"{_path}.rank{rank}";

    protected override byte[] ShareCore(Func<byte[]> createPayload)
    {
        Deadline deadline = Deadline.After(Timeout);
        Join(deadline);
        int step = ++_sequence;
        if (Rank == 0)
        {
            byte[] payload = CreatePayload(createPayload);
            WriteRecord(step, Kind.Payload, payload);
            return payload;
        }
        return WaitForRecord(step, deadline, release: false).Payload;
    }

    protected override void BarrierCore()
    {
        Deadline deadline = Deadline.After(Timeout);
        Join(deadline);
        int step = ++_sequence;
        if (Rank == 0)
        {
            WaitForAcks(step, deadline, "the barrier");
            WriteRecord(step, Kind.Release, []);
        }
        else
        {
            WriteAck(step, Kind.Ready, string.Empty);
            WaitForRecord(step, deadline, release: true);
        }
    }

    protected override void OnFailed(string reason)
    {
        if (_nonce is null) return;
        if (Rank == 0) WriteRecord(_sequence, Kind.Abort, Encoding.UTF8.GetBytes(reason));
        else WriteAck(_sequence, Kind.Abort, reason);
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (Rank != 0 || !_joined) return;
        for (int r = 1; r < WorldSize; r++)
        {
            try
            {
                IOFile.Delete(AckPath(r));
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private void Join(Deadline deadline)
    {
        if (_joined) return;
        if (Rank == 0)
        {
            _nonce = RandomNumberGenerator.GetBytes(NonceBytes);
            try
            {
                string? folder = Path.GetDirectoryName(_path);
                if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Failure($"cannot create the folder of {_path}: {e.Message}", timedOut: false, e);
            }
            WriteRecord(0, Kind.Payload, []);
            WaitForAcks(0, deadline, "the ranks to join");
        }
        else
        {
            WaitForStart(deadline);
            WriteAck(0, Kind.Ready, string.Empty);
        }
        _joined = true;
    }

    /// <summary>Rank r: waits for rank 0's step-0 record of this run and adopts its nonce.</summary>
    private void WaitForStart(Deadline deadline)
    {
        DateTime oldest = DateTime.UtcNow - Timeout - ClockSlack;
        string? note = null;
        var poll = new Backoff();
        while (true)
        {
            Record? r = TryReadRecord(out string? unreadable);
            if (r is not null)
            {
                if (r.Step == 0 && r.Written >= oldest)
                {
                    if (r.Kind == Kind.Abort)
                        throw Failure($"rank 0 aborted the rendezvous: {Encoding.UTF8.GetString(r.Payload)}", timedOut: false);
                    _nonce = r.Nonce; // from here on, a failure of this rank is reported to rank 0
                    if (r.World != WorldSize)
                        throw Failure($"rank 0 wrote {_path} for a world of {r.World} ranks, but this rank was started with a world size of {WorldSize}; every rank must be given the same world size", timedOut: false);
                    _nonce = r.Nonce;
                    return;
                }
                note = r.Step != 0
                    ? $"{_path} holds step {r.Step} of an earlier run and was ignored"
                    : $"{_path} was written at {r.Written:O}, before this run could have started, and was ignored";
            }
            else if (unreadable is not null)
            {
                note = unreadable;
            }

            if (deadline.Expired)
                throw Failure($"rank 0 did not start the rendezvous within {Seconds(Timeout)} ({note ?? $"{_path} does not exist"}). Is rank 0 running with the same path, on a file system this rank sees?", timedOut: true);
            poll.Wait(deadline);
        }
    }

    /// <summary>Rank r: waits for step <paramref name="step"/>'s payload, or (barrier) for the release of that step.</summary>
    private Record WaitForRecord(int step, Deadline deadline, bool release)
    {
        var poll = new Backoff();
        while (true)
        {
            Record? r = TryReadRecord(out _);
            if (r is not null && _nonce.AsSpan().SequenceEqual(r.Nonce))
            {
                if (r.Kind == Kind.Abort)
                    throw Failure($"rank 0 aborted the rendezvous: {Encoding.UTF8.GetString(r.Payload)}", timedOut: false);
                if (release && (r.Step > step || (r.Step == step && r.Kind == Kind.Release))) return r;
                if (!release && r.Step == step && r.Kind == Kind.Payload) return r;
                if (!release && r.Step > step)
                    throw Failure($"rank 0 is at step {r.Step} while this rank waits for the payload of step {step}: the ranks called Share and Barrier in different orders", timedOut: false);
            }

            if (deadline.Expired)
            {
                throw Failure(release
                    ? $"rank 0 did not release barrier step {step} within {Seconds(Timeout)}; another rank has not arrived, or rank 0 stopped"
                    : $"rank 0 did not write the payload of step {step} to {_path} within {Seconds(Timeout)}", timedOut: true);
            }
            poll.Wait(deadline);
        }
    }

    /// <summary>Rank 0: waits until every other rank has acknowledged step <paramref name="step"/> (or a later one).</summary>
    private void WaitForAcks(int step, Deadline deadline, string what)
    {
        var pending = new List<int>();
        for (int r = 1; r < WorldSize; r++) pending.Add(r);
        var poll = new Backoff();
        while (true)
        {
            for (int i = pending.Count - 1; i >= 0; i--)
            {
                int r = pending[i];
                Ack? ack = TryReadAck(r);
                if (ack is null || !_nonce.AsSpan().SequenceEqual(ack.Nonce)) continue;
                if (ack.Kind == Kind.Abort) throw Failure($"rank {r} aborted the rendezvous: {ack.Message}", timedOut: false);
                if (ack.World != WorldSize)
                    throw Failure($"rank {r} was started with a world size of {ack.World}, not {WorldSize}; every rank must be given the same world size", timedOut: false);
                if (ack.Step >= step) pending.RemoveAt(i);
            }
            if (pending.Count == 0) return;
            if (deadline.Expired)
            {
                pending.Sort();
                throw Failure($"{(pending.Count == 1 ? "rank" : "ranks")} {string.Join(", ", pending)} did not arrive at step {step} ({what}) within {Seconds(Timeout)} (no acknowledgement in {AckPath(pending[0])}; {WorldSize - 1 - pending.Count} of {WorldSize - 1} did)", timedOut: true);
            }
            poll.Wait(deadline);
        }
    }

    private void WriteRecord(int step, Kind kind, byte[] payload)
    {
        var bytes = new byte[RecordHeader + payload.Length];
        Span<byte> s = bytes;
        RecordMagic.CopyTo(s);
        BinaryPrimitives.WriteInt32LittleEndian(s[8..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(s[12..], WorldSize);
        BinaryPrimitives.WriteInt32LittleEndian(s[16..], step);
        BinaryPrimitives.WriteInt32LittleEndian(s[20..], (int)kind);
        _nonce.AsSpan().CopyTo(s[24..]);
        BinaryPrimitives.WriteInt64LittleEndian(s[40..], DateTime.UtcNow.Ticks);
        BinaryPrimitives.WriteInt32LittleEndian(s[48..], payload.Length);
        payload.CopyTo(s[RecordHeader..]);
        WriteAtomically(_path, bytes);
    }

    private void WriteAck(int step, Kind kind, string message)
    {
        byte[] text = Encoding.UTF8.GetBytes(message);
        var bytes = new byte[AckHeader + text.Length];
        Span<byte> s = bytes;
        AckMagic.CopyTo(s);
        BinaryPrimitives.WriteInt32LittleEndian(s[8..], Version);
        BinaryPrimitives.WriteInt32LittleEndian(s[12..], WorldSize);
        BinaryPrimitives.WriteInt32LittleEndian(s[16..], Rank);
        BinaryPrimitives.WriteInt32LittleEndian(s[20..], step);
        BinaryPrimitives.WriteInt32LittleEndian(s[24..], (int)kind);
        _nonce.AsSpan().CopyTo(s[28..]);
        BinaryPrimitives.WriteInt32LittleEndian(s[44..], text.Length);
        text.CopyTo(s[AckHeader..]);
        WriteAtomically(AckPath(Rank), bytes);
    }

    private void WriteAtomically(string target, byte[] bytes)
    {
        string temp = $"{target}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                file.Write(bytes);
            }
            IOFile.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                IOFile.Delete(temp);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
            throw Failure($"cannot write {target}: {e.Message}", timedOut: false, e);
        }
    }

    private Record? TryReadRecord(out string? unreadable)
    {
        unreadable = null;
        byte[]? bytes = TryRead(_path);
        if (bytes is null) return null;
        ReadOnlySpan<byte> s = bytes;
        if (s.Length < RecordHeader || !s[..8].SequenceEqual(RecordMagic))
        {
            unreadable = $"{_path} exists but is not an NcclEp rendezvous file";
            return null;
        }
        int length = BinaryPrimitives.ReadInt32LittleEndian(s[48..]);
        if (BinaryPrimitives.ReadInt32LittleEndian(s[8..]) != Version || length < 0 || length != s.Length - RecordHeader)
        {
            unreadable = $"{_path} was written by another version of NcclEp's rendezvous";
            return null;
        }
        long ticks = BinaryPrimitives.ReadInt64LittleEndian(s[40..]);
        return new Record(
            World: BinaryPrimitives.ReadInt32LittleEndian(s[12..]),
            Step: BinaryPrimitives.ReadInt32LittleEndian(s[16..]),
            Kind: (Kind)BinaryPrimitives.ReadInt32LittleEndian(s[20..]),
            Nonce: s.Slice(24, NonceBytes).ToArray(),
            Written: ticks >= DateTime.MinValue.Ticks && ticks <= DateTime.MaxValue.Ticks ? new DateTime(ticks, DateTimeKind.Utc) : DateTime.MinValue,
            Payload: s[RecordHeader..].ToArray());
    }

    private Ack? TryReadAck(int rank)
    {
        byte[]? bytes = TryRead(AckPath(rank));
        if (bytes is null) return null;
        ReadOnlySpan<byte> s = bytes;
        if (s.Length < AckHeader || !s[..8].SequenceEqual(AckMagic) || BinaryPrimitives.ReadInt32LittleEndian(s[8..]) != Version) return null;
        int length = BinaryPrimitives.ReadInt32LittleEndian(s[44..]);
        if (length < 0 || length != s.Length - AckHeader || BinaryPrimitives.ReadInt32LittleEndian(s[16..]) != rank) return null;
        return new Ack(
            World: BinaryPrimitives.ReadInt32LittleEndian(s[12..]),
            Step: BinaryPrimitives.ReadInt32LittleEndian(s[20..]),
            Kind: (Kind)BinaryPrimitives.ReadInt32LittleEndian(s[24..]),
            Nonce: s.Slice(28, NonceBytes).ToArray(),
            Message: Encoding.UTF8.GetString(s[AckHeader..]));
    }

    private static byte[]? TryRead(string path)
    {
        try
        {
            return IOFile.ReadAllBytes(path);
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

    private sealed record Record(int World, int Step, Kind Kind, byte[] Nonce, DateTime Written, byte[] Payload);

    private sealed record Ack(int World, int Step, Kind Kind, byte[] Nonce, string Message);

    /// <summary>Polling interval: 1 ms, doubling to 50 ms, never past the deadline.</summary>
    private struct Backoff
    {
        private int _milliseconds;

        public void Wait(Deadline deadline)
        {
            _milliseconds = _milliseconds == 0 ? 1 : Math.Min(_milliseconds * 2, 50);
            System.Threading.Thread.Sleep(Math.Min(_milliseconds, deadline.RemainingMilliseconds));
        }
    }
}
