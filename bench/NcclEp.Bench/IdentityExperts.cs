using System;
using System.Runtime.InteropServices;
using NcclEp;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>
/// The "experts" between dispatch and combine (not timed): expert-major rows are copied unchanged (the combine
/// applies the router weights); for the per-rank layouts, whose combine is an unweighted sum, each row is
/// multiplied by Σ of the weights of its top-k slots whose expert is local (fp32, rounded once).
/// </summary>
internal sealed class IdentityExperts : IExpertsStep
{
    private const int ChunkRows = 256;
    private readonly RankState _s;
    private readonly ReceivedRuns _runs;
    private readonly byte[] _rows;
    private readonly int[] _ids;
    private readonly float[] _weights;

    public IdentityExperts(RankState state)
    {
        _s = state;
        _runs = new ReceivedRuns(state);
        bool perRank = state.Config.Layout != EpLayout.ExpertMajor;
        _rows = perRank ? new byte[ChunkRows * state.Config.RowBytes] : [];
        _ids = perRank ? new int[ChunkRows * state.Config.TopK] : [];
        _weights = perRank ? new float[ChunkRows * state.Config.TopK] : [];
    }

    public void Run()
    {
        _s.Backend.Synchronize(_s.Group, _s.Stream);
        _runs.Read();
        EpConfig c = _s.Config;
        if (c.Layout == EpLayout.ExpertMajor && c.Mode == EpMode.HighThroughput)
        {
            long used = _runs.ExpertOffsets[^1];
            if (used < 0 || used > _runs.Capacity)
                throw new InvalidOperationException($"Rank {_s.Rank}: the handle says {used} rows are in use; the dispatch output has {_runs.Capacity}.");
            Copy(0, used);
            return;
        }
        for (int i = 0; i < _runs.RunCount; i++)
        {
            RowRun run = _runs.CheckedRun(i);
            if (c.Layout == EpLayout.ExpertMajor) Copy(run.Start, run.Count);
            else Scale(run);
        }
    }

    private void Copy(long start, long rows)
    {
        if (rows == 0) return;
        long offset = _s.RowOffset(start);
        _s.Backend.CopyDevice(_s.Group, _s.Stream, _s.ReceivedBuffer.Pointer + (nint)offset,
            _s.ExpertOutputsBuffer.Pointer + (nint)offset, _s.RowOffset(rows));
    }

    private void Scale(RowRun run)
    {
        EpConfig c = _s.Config;
        int k = c.TopK, rowBytes = c.RowBytes, localExperts = _s.Group.LocalExperts;
        for (int done = 0; done < run.Count; done += ChunkRows)
        {
            int n = Math.Min(ChunkRows, run.Count - done);
            long first = run.Start + done;
            Span<byte> rows = _rows.AsSpan(0, n * rowBytes);
            _s.ReceivedBuffer.Download(rows, _s.RowOffset(first));
            _s.Read(_s.Handle.ReceivedTopkIds.Data + (nint)(first * k * 4), _ids.AsSpan(0, n * k));
            _s.Read(_s.Handle.ReceivedTopkWeights.Data + (nint)(first * k * 4), _weights.AsSpan(0, n * k));
            for (int i = 0; i < n; i++)
            {
                float sum = 0;
                for (int slot = 0; slot < k; slot++)
                {
                    int e = _ids[(i * k) + slot];
                    if (e >= 0 && e / localExperts == _s.Rank) sum += _weights[(i * k) + slot];
                }
                ScaleRow(rows.Slice(i * rowBytes, rowBytes), sum, c.DataType);
            }
            _s.ExpertOutputsBuffer.Upload<byte>(rows, _s.RowOffset(first));
        }
    }

    /// <summary>row ← round(row × factor), the product in fp32.</summary>
    public static void ScaleRow(Span<byte> row, float factor, EpDataType type)
    {
        if (type == EpDataType.BFloat16)
        {
            Span<ushort> bits = MemoryMarshal.Cast<byte, ushort>(row);
            for (int e = 0; e < bits.Length; e++)
                bits[e] = BFloat16.RoundBits(BitConverter.UInt32BitsToSingle((uint)bits[e] << 16) * factor);
        }
        else
        {
            Span<float> values = MemoryMarshal.Cast<byte, float>(row);
            for (int e = 0; e < values.Length; e++) values[e] *= factor;
        }
    }
}
