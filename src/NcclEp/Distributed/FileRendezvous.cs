using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;

namespace NcclEp.Distributed;

/// <summary>
/// Ranks meet through files on a file system they all see (<see cref="FileRecords"/>: one job's files, their format).
/// Rank 0 owns the record; rank r owns its acknowledgement file.
/// </summary>
/// <remarks>
/// <para>Protocol, in steps numbered alike on every rank. Step 0 (joining, on first use): rank 0 picks a random
/// nonce and writes the record (step 0, world size, time); rank r waits for a step-0 record (never an abort) of this
/// job written less than one time-out before it began to wait (older ones are left over from an earlier run), adopts
/// its nonce and acknowledges step 0; rank 0 waits for every acknowledgement. Until rank r has seen a later step of
/// that nonce, a newer step-0 record replaces the one it adopted (that one was left by a run that died at its start).
/// Later steps carry the nonce, so files of other runs are ignored. Share (step s): rank 0 writes the payload as step
/// s; rank r reads it. Barrier (step s): rank r acknowledges s and waits for the record to reach step s (released) or
/// beyond; rank 0 waits for every acknowledgement of s, then writes the release. A failing rank writes an abort
/// (rank 0 into the record, rank r into its acknowledgement) so the others stop at once. Rank 0 fails if another
/// run's rank 0 overwrites its record (two runs on one path and job), and then writes nothing more there.</para>
/// <para>Rank 0 removes the acknowledgement files when it is disposed; the record stays (it holds a step past 0,
/// which a later run with the same path ignores). Use a fresh path per job all the same.</para>
/// </remarks>
internal sealed class FileRendezvous : EpRendezvous
{
    private static readonly TimeSpan ClockSlack = TimeSpan.FromSeconds(10);

    private readonly string _path;
    private readonly FileRecords _files;
    private byte[]? _nonce;
    private DateTime _adoptedWritten;
    private bool _committed;
    private bool _recordTaken;
    private int _sequence;
    private bool _joined;

    public FileRendezvous(string path, int rank, int worldSize, TimeSpan timeout, int localRank, EpRendezvousOptions options)
        : base(rank, worldSize, timeout, localRank)
    {
        _path = Path.GetFullPath(path);
        if (Directory.Exists(_path))
            throw new ArgumentException($"The rendezvous path {_path} is a folder; give the path of a file (that need not exist yet).", nameof(path));
        _files = new FileRecords(_path, RendezvousSecret.From(options.Secret), options.JobId);
    }

    public override string Address => "file:" + _path;

    /// <summary>The file rank 0 writes (the path itself, or beside it for a job with a secret or a job id).</summary>
    internal string RecordPath => _files.RecordPath;

    /// <summary>The file rank <paramref name="rank"/> acknowledges steps in.</summary>
    internal string AckPath(int rank) => _files.AckPath(rank);

    protected override byte[] ShareCore(Func<byte[]> createPayload)
    {
        Deadline deadline = Deadline.After(Timeout);
        Join(deadline);
        int step = ++_sequence;
        if (Rank == 0)
        {
            byte[] payload = CreatePayload(createPayload);
            WriteRecord(step, FileRecordKind.Payload, payload);
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
            WriteRecord(step, FileRecordKind.Release, []);
        }
        else
        {
            WriteAck(step, FileRecordKind.Ready, string.Empty);
            WaitForRecord(step, deadline, release: true);
        }
    }

    protected override void OnFailed(string reason)
    {
        if (_nonce is null) return;
        string text = reason.Length > FileRecords.MaxMessageChars ? reason[..FileRecords.MaxMessageChars] : reason;
        if (Rank == 0)
        {
            if (!_recordTaken) WriteRecord(_sequence, FileRecordKind.Abort, Encoding.UTF8.GetBytes(text));
        }
        else
        {
            WriteAck(_sequence, FileRecordKind.Abort, text);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (Rank != 0 || !_joined) return;
        for (int r = 1; r < WorldSize; r++) FileRecords.TryDelete(AckPath(r));
    }

    private void Join(Deadline deadline)
    {
        if (_joined) return;
        if (Rank == 0)
        {
            _nonce = RandomNumberGenerator.GetBytes(FileRecords.NonceBytes);
            try
            {
                string? folder = Path.GetDirectoryName(_path);
                if (!string.IsNullOrEmpty(folder)) FileRecords.CreateFolder(folder);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw Failure($"cannot create the folder of {_path}: {e.Message}", timedOut: false, e);
            }
            WriteRecord(0, FileRecordKind.Payload, []);
            WaitForAcks(0, deadline, "the ranks to join");
        }
        else
        {
            WaitForStart(deadline);
        }
        _joined = true;
    }

    /// <summary>Rank r: waits for rank 0's step-0 record of this run, adopts its nonce and acknowledges it.</summary>
    private void WaitForStart(Deadline deadline)
    {
        DateTime oldest = DateTime.UtcNow - Timeout - ClockSlack;
        string? note = null;
        var poll = new Backoff();
        while (true)
        {
            FileRecord? r = _files.ReadRecord(out string? ignored);
            if (r is not null && IsStart(r) && r.Written >= oldest)
            {
                Adopt(r);
                return;
            }
            note = r is null ? ignored ?? note
                : r.Step != 0 ? $"{RecordPath} holds step {r.Step} of an earlier run and was ignored"
                : r.Kind != FileRecordKind.Payload ? $"{RecordPath} holds the abort of a run this rank did not join and was ignored"
                : $"{RecordPath} was written at {r.Written:O}, before this run could have started, and was ignored";

            if (deadline.Expired)
                throw Failure($"rank 0 did not start the rendezvous within {Seconds(Timeout)} ({note ?? $"{RecordPath} does not exist"}). Is rank 0 running with the same path, job and secret, on a file system this rank sees?", timedOut: true);
            poll.Wait(deadline);
        }
    }

    private static bool IsStart(FileRecord r) => r.Step == 0 && r.Kind == FileRecordKind.Payload;

    /// <summary>Rank r: joins the run that <paramref name="r"/> started.</summary>
    private void Adopt(FileRecord r)
    {
        _nonce = r.Nonce; // from here on, a failure of this rank is reported to that rank 0
        _adoptedWritten = r.Written;
        if (r.World != WorldSize)
            throw Failure($"rank 0 wrote {RecordPath} for a world of {r.World} ranks, but this rank was started with a world size of {WorldSize}; every rank must be given the same world size", timedOut: false);
        WriteAck(0, FileRecordKind.Ready, string.Empty);
    }

    /// <summary>Rank r: waits for step <paramref name="step"/>'s payload, or (barrier) for the release of that step.</summary>
    private FileRecord WaitForRecord(int step, Deadline deadline, bool release)
    {
        var poll = new Backoff();
        while (true)
        {
            FileRecord? r = _files.ReadRecord(out _);
            if (r is not null && _nonce.AsSpan().SequenceEqual(r.Nonce))
            {
                if (r.Kind == FileRecordKind.Abort)
                    throw Failure($"rank 0 aborted the rendezvous: {Encoding.UTF8.GetString(r.Payload)}", timedOut: false);
                if (r.Step > 0) _committed = true; // that rank 0 had every rank's acknowledgement: it is this run's
                if (release && (r.Step > step || (r.Step == step && r.Kind == FileRecordKind.Release))) return r;
                if (!release && r.Step == step && r.Kind == FileRecordKind.Payload) return r;
                if (!release && r.Step > step)
                    throw Failure($"rank 0 is at step {r.Step} while this rank waits for the payload of step {step}: the ranks called Share and Barrier in different orders", timedOut: false);
            }
            else if (r is not null && !_committed && IsStart(r) && r.Written > _adoptedWritten)
            {
                Adopt(r); // the record this rank joined was left by a run that died; this one started since
            }

            if (deadline.Expired)
            {
                throw Failure(release
                    ? $"rank 0 did not release barrier step {step} within {Seconds(Timeout)}; another rank has not arrived, or rank 0 stopped"
                    : $"rank 0 did not write the payload of step {step} to {RecordPath} within {Seconds(Timeout)}", timedOut: true);
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
        string? note = null;
        while (true)
        {
            for (int i = pending.Count - 1; i >= 0; i--)
            {
                int r = pending[i];
                FileAck? ack = _files.ReadAck(r, out string? ignored);
                note = ignored ?? note;
                if (ack is null || !_nonce.AsSpan().SequenceEqual(ack.Nonce)) continue;
                if (ack.Kind == FileRecordKind.Abort) throw Failure($"rank {r} aborted the rendezvous: {ack.Message}", timedOut: false);
                if (ack.World != WorldSize)
                    throw Failure($"rank {r} was started with a world size of {ack.World}, not {WorldSize}; every rank must be given the same world size", timedOut: false);
                if (ack.Step >= step) pending.RemoveAt(i);
            }
            if (pending.Count == 0) return;
            if (_files.ReadRecord(out _) is { } mine && !_nonce.AsSpan().SequenceEqual(mine.Nonce))
            {
                _recordTaken = true;
                throw Failure($"another run's rank 0 wrote {RecordPath} while this rank waited for {what}: two runs were given one path and job; give each job its own path, job id or secret", timedOut: false);
            }
            if (deadline.Expired)
            {
                pending.Sort();
                throw Failure($"{(pending.Count == 1 ? "rank" : "ranks")} {string.Join(", ", pending)} did not arrive at step {step} ({what}) within {Seconds(Timeout)} (no acknowledgement in {AckPath(pending[0])}; {WorldSize - 1 - pending.Count} of {WorldSize - 1} did){(note is null ? string.Empty : $"; {note}")}", timedOut: true);
            }
            poll.Wait(deadline);
        }
    }

    private void WriteRecord(int step, FileRecordKind kind, byte[] payload) =>
        Write(_files.RecordPath, () => _files.WriteRecord(WorldSize, step, kind, _nonce!, payload));

    private void WriteAck(int step, FileRecordKind kind, string message) =>
        Write(AckPath(Rank), () => _files.WriteAck(Rank, WorldSize, step, kind, _nonce!, message));

    private void Write(string target, Action write)
    {
        try
        {
            write();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure($"cannot write {target}: {e.Message}", timedOut: false, e);
        }
    }

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
