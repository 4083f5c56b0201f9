using System;
using NcclEp;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>
/// Checks one rank after its last iteration against the shared <see cref="ReferenceModel"/> (computed on the host from
/// every rank's batch): (1) every count the handle documents (per source rank, per local expert, the expert-major
/// segment starts, the total); (2) every row of the dispatch output where the reference puts one: its source info,
/// its bits (padding rows zero) and, for the per-rank layouts, the top-k beside it, so each layout's row order is
/// checked; (3) dispatch → experts (<see cref="AffineExperts"/>, distinct per expert) → combine equals the reference's
/// combine output bit for bit (no tolerance: the reference computes the same fp32 operations in the same order).
/// For --dtype fp8, (2) compares the FP8 channels and every scale with the source row quantized by the library's rule
/// (the Host backend's; padding rows: a zero row's), and the reference of (3) starts from the dequantized rows
/// (<see cref="Fp8Rows.DequantizedBatches"/>), which the experts also read, so (3) stays bit for bit.
/// </summary>
internal sealed class Validator
{
    private const int ChunkRows = 256;
    private readonly RankState _s;
    private readonly Workload _work;
    private readonly ReferenceModel _model;
    private readonly ReceivedRuns _runs;
    private readonly EpConfig _c;
    private readonly int[] _sourceInfo;
    private readonly int[] _ids;
    private readonly float[] _weights;
    private readonly byte[] _rows;
    private readonly Fp8Rows? _fp8;
    private long _rowsChecked;

    private Validator(RankState state, Workload work)
    {
        _s = state;
        _work = work;
        _c = state.Config;
        _model = new ReferenceModel(_c, work.Ranks, _c.IsDispatchQuantized ? Fp8Rows.DequantizedBatches(_c, work.Batches) : work.Batches);
        _runs = new ReceivedRuns(state);
        _sourceInfo = new int[ChunkRows * 3];
        _ids = new int[ChunkRows * _c.TopK];
        _weights = new float[ChunkRows * _c.TopK];
        _rows = new byte[ChunkRows * _c.RowBytes];
        _fp8 = _c.IsDispatchQuantized ? new Fp8Rows(state, ChunkRows) : null;
    }

    public static RankValidation Check(RankState state, Workload work)
    {
        var v = new Validator(state, work);
        state.Backend.Synchronize(state.Group, state.Stream);
        v._fp8?.Refresh();
        ExpectedReceive expected = v._model.Receive(state.Rank);
        string? mismatch = v.CheckCounts(expected) ?? v.CheckRows(expected) ?? v.CheckCombined();
        return new RankValidation(state.Rank, v._rowsChecked, work.Tokens(state.Rank), mismatch is null ? null : $"rank {state.Rank}: {mismatch}");
    }

    private string? CheckCounts(ExpectedReceive expected)
    {
        _runs.Read();
        return ReceiveChecks.Counts("dispatch", expected, _runs.RankCounts, _runs.ExpertCounts, _runs.ExpertOffsets, _runs.Total);
    }

    /// <summary>Every expected row, in runs of consecutive layout rows read a chunk at a time.</summary>
    private string? CheckRows(ExpectedReceive expected)
    {
        ExpectedRow[] rows = expected.Rows;
        for (int first = 0; first < rows.Length;)
        {
            int n = 1;
            while (first + n < rows.Length && n < ChunkRows && rows[first + n].Row == rows[first].Row + n) n++;
            Load(rows[first].Row, n);
            for (int j = 0; j < n; j++)
            {
                string? bad = CheckRow(rows[first + j], j);
                if (bad is not null) return bad;
                if (!rows[first + j].IsPadding) _rowsChecked++;
            }
            first += n;
        }
        return null;
    }

    private void Load(long first, int n)
    {
        int k = _c.TopK;
        EpHandle h = _s.Handle;
        if (_fp8 is not null) _fp8.Load(first, n);
        else _s.ReceivedBuffer.Download(_rows.AsSpan(0, n * _c.RowBytes), _s.RowOffset(first));
        _s.Read(h.ReceivedSourceInfo.Data + (nint)(first * 12), _sourceInfo.AsSpan(0, n * 3));
        if (_c.Layout == EpLayout.ExpertMajor) return;
        _s.Read(h.ReceivedTopKIds.Data + (nint)(first * k * 4), _ids.AsSpan(0, n * k));
        _s.Read(h.ReceivedTopKWeights.Data + (nint)(first * k * 4), _weights.AsSpan(0, n * k));
    }

    private string? CheckRow(ExpectedRow row, int j)
    {
        int k = _c.TopK;
        string? bad = ReceiveChecks.SourceInfo("dispatch", _c, row, _sourceInfo[j * 3], _sourceInfo[(j * 3) + 1], _sourceInfo[(j * 3) + 2]);
        if (bad is null && _c.Layout != EpLayout.ExpertMajor)
            bad = ReceiveChecks.TopK("dispatch", _model, row, _ids.AsSpan(j * k, k), _weights.AsSpan(j * k, k));
        if (bad is null && _fp8 is not null)
        {
            ReadOnlySpan<byte> source = row.IsPadding ? default : _work.Row(row.Rank, row.Token);
            return _fp8.Compare(j, source) is { } fp8 ? $"dispatch row {row.Row} ({(row.IsPadding ? "padding" : $"token ({row.Rank}, {row.Token})")}): {fp8}" : null;
        }
        return bad ?? ReceiveChecks.RowBits("dispatch", _c.DataType, row, _model.DispatchedBits(row), _rows.AsSpan(j * _c.RowBytes, _c.RowBytes));
    }

    private string? CheckCombined()
    {
        int rowBytes = _c.RowBytes;
        int tokens = _work.Tokens(_s.Rank);  // the rank's own tokens (0: nothing comes home, its peers' rows were checked above)
        for (int first = 0; first < tokens; first += ChunkRows)
        {
            int n = Math.Min(ChunkRows, tokens - first);
            _s.CombinedBuffer.Download(_rows.AsSpan(0, n * rowBytes), (long)first * rowBytes);
            for (int j = 0; j < n; j++)
            {
                int t = first + j;
                string? bad = ReceiveChecks.TokenRow("combine", t, _model.HomeRow(_s.Rank, t, EpPass.Forward), _rows.AsSpan(j * rowBytes, rowBytes), _c.DataType);
                if (bad is not null) return bad;
            }
        }
        return null;
    }
}
