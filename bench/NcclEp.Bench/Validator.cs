using System;
using System.Runtime.InteropServices;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>
/// Checks one rank after its last iteration against references computed on the host from the routing alone:
/// (1) the handle's counts (and offsets / total where the layout documents them) equal the counts from the
/// routing; (2) every received row is its source token's row, bit for bit, with the right source info, each
/// (token, slot) or (token, rank) once, in the documented order, padding rows zero; (3) dispatch → identity
/// experts → combine equals the input × Σ of its weights within bf16 rounding (2^-7 relative; fp32: 10^-5).
/// </summary>
internal sealed class Validator
{
    private const int ChunkRows = 256;
    private readonly RankState _s;
    private readonly Workload _work;
    private readonly Traffic _traffic;
    private readonly ReceivedRuns _runs;
    private readonly EpConfig _c;
    private readonly int[] _sourceInfo;
    private readonly int[] _ids;
    private readonly float[] _weights;
    private readonly byte[] _rows;
    private readonly bool[] _seen;
    private long _rowsChecked;

    private Validator(RankState state, Workload work, Traffic traffic)
    {
        _s = state;
        _work = work;
        _traffic = traffic;
        _c = state.Config;
        _runs = new ReceivedRuns(state);
        _sourceInfo = new int[ChunkRows * 3];
        _ids = new int[ChunkRows * _c.TopK];
        _weights = new float[ChunkRows * _c.TopK];
        _rows = new byte[ChunkRows * _c.RowBytes];
        _seen = new bool[work.Ranks * work.Tokens * (_c.Layout == EpLayout.ExpertMajor ? _c.TopK : 1)];
    }

    public static RankValidation Check(RankState state, Workload work, Traffic traffic)
    {
        var v = new Validator(state, work, traffic);
        state.Backend.Synchronize(state.Group, state.Stream);
        string? mismatch = v.CheckCounts() ?? v.CheckRows() ?? v.CheckCombined();
        return new RankValidation(state.Rank, v._rowsChecked, work.Tokens, mismatch is null ? null : $"rank {state.Rank}: {mismatch}");
    }

    private string? CheckCounts()
    {
        _runs.Read();
        int rank = _s.Rank;
        if (_c.Layout == EpLayout.ExpertMajor)
        {
            string? bad = Compare("received expert counts", _runs.ExpertCounts, _traffic.RecvExpertCounts[rank]);
            if (bad is not null) return bad;
            int local = _runs.ExpertCounts.Length, align = _c.ExpertAlignment;
            long capacity = (long)_s.Group.WorldSize * _c.MaxTokensPerRank;
            var offsets = new int[local + 1];
            for (int l = 0; l < local; l++)
            {
                offsets[l + 1] = _c.Mode == EpMode.HighThroughput
                    ? offsets[l] + ((_runs.ExpertCounts[l] + align - 1) / align * align)
                    : (int)((l + 1) * capacity);
            }
            bad = Compare("received expert offsets", _runs.ExpertOffsets, offsets);
            if (bad is not null) return bad;
            if (_c.Mode == EpMode.HighThroughput && _runs.Total != offsets[local])
                return $"received total is {_runs.Total}; the padded expert segments need {offsets[local]}";
            return null;
        }

        string? badRanks = Compare("received rank counts", _runs.RankCounts, _traffic.RecvRankCounts[rank]);
        if (badRanks is not null) return badRanks;
        long sum = _traffic.ReceivedRows(rank, _c.Layout);
        if (_c.Layout == EpLayout.Flat && _runs.Total != sum)
            return $"received total is {_runs.Total}; the routing sends {sum} rows here";
        return null;
    }

    private string? CheckRows()
    {
        for (int i = 0; i < _runs.RunCount; i++)
        {
            RowRun run = _runs.CheckedRun(i);
            int lastRank = -1, lastToken = -1;
            for (int done = 0; done < run.Count; done += ChunkRows)
            {
                int n = Math.Min(ChunkRows, run.Count - done);
                long first = run.Start + done;
                Load(first, n);
                for (int j = 0; j < n; j++)
                {
                    string? bad = CheckRow(run, first + j, j, ref lastRank, ref lastToken);
                    if (bad is not null) return bad;
                    _rowsChecked++;
                }
            }
            if (_c.Layout == EpLayout.ExpertMajor && _c.Mode == EpMode.HighThroughput)
            {
                string? pad = CheckPadding(run.Start + run.Count, _runs.ExpertOffsets[i + 1]);
                if (pad is not null) return pad;
            }
        }
        return null;
    }

    private void Load(long first, int n)
    {
        int k = _c.TopK;
        EpHandle h = _s.Handle;
        _s.ReceivedBuffer.Download(_rows.AsSpan(0, n * _c.RowBytes), _s.RowOffset(first));
        _s.Read(h.ReceivedSourceInfo.Data + (nint)(first * 12), _sourceInfo.AsSpan(0, n * 3));
        if (_c.Layout == EpLayout.ExpertMajor) return;
        _s.Read(h.ReceivedTopkIds.Data + (nint)(first * k * 4), _ids.AsSpan(0, n * k));
        _s.Read(h.ReceivedTopkWeights.Data + (nint)(first * k * 4), _weights.AsSpan(0, n * k));
    }

    private string? CheckRow(RowRun run, long index, int j, ref int lastRank, ref int lastToken)
    {
        int k = _c.TopK, src = _sourceInfo[j * 3], token = _sourceInfo[(j * 3) + 1], slot = _sourceInfo[(j * 3) + 2];
        string where = _c.Layout == EpLayout.ExpertMajor ? $"row {index} (local expert {run.Owner})" : $"row {index} (source rank {run.Owner})";
        if (src < 0 || src >= _work.Ranks || token < 0 || token >= _work.Tokens)
            return $"{where}: source info ({src}, {token}, {slot}) names no token";

        int key;
        if (_c.Layout == EpLayout.ExpertMajor)
        {
            int expert = (_s.Rank * _s.Group.LocalExperts) + run.Owner;
            if (slot < 0 || slot >= k || _work.Ids(src)[(token * k) + slot] != expert)
                return $"{where}: source info ({src}, {token}, {slot}) is not a slot routed to expert {expert}";
            if (src < lastRank || (src == lastRank && token < lastToken))
                return $"{where}: ({src}, {token}) comes after ({lastRank}, {lastToken}); rows must be ordered by source rank, then token";
            key = (((src * _work.Tokens) + token) * k) + slot;
        }
        else
        {
            if (src != run.Owner || slot != -1)
                return $"{where}: source info ({src}, {token}, {slot}); expected source rank {run.Owner} and slot -1";
            if (_c.Layout == EpLayout.Flat && token <= lastToken)
                return $"{where}: token {token} comes after token {lastToken}; flat rows keep source token order";
            ReadOnlySpan<int> ids = _work.Ids(src).Slice(token * k, k);
            ReadOnlySpan<float> weights = _work.Weights(src).Slice(token * k, k);
            if (!ids.SequenceEqual(_ids.AsSpan(j * k, k)) || !weights.SequenceEqual(_weights.AsSpan(j * k, k)))
                return $"{where}: the top-k ids / weights beside the row are not those of ({src}, {token})";
            key = (src * _work.Tokens) + token;
        }
        lastRank = src;
        lastToken = token;
        if (_seen[key]) return $"{where}: ({src}, {token}, {slot}) was received twice";
        _seen[key] = true;

        ReadOnlySpan<byte> row = _rows.AsSpan(j * _c.RowBytes, _c.RowBytes);
        ReadOnlySpan<byte> expected = _work.Row(src, token);
        if (!row.SequenceEqual(expected))
        {
            int e = FirstDifference(row, expected);
            return $"{where}: element {e} is {Element(row, e)}; the token ({src}, {token}) has {Element(expected, e)}";
        }
        return null;
    }

    private string? CheckPadding(long from, long to)
    {
        for (long first = from; first < to; first += ChunkRows)
        {
            int n = (int)Math.Min(ChunkRows, to - first);
            Span<byte> rows = _rows.AsSpan(0, n * _c.RowBytes);
            _s.ReceivedBuffer.Download(rows, _s.RowOffset(first));
            int at = rows.IndexOfAnyExcept((byte)0);
            if (at >= 0) return $"padding row {first + (at / _c.RowBytes)} is not zero";
        }
        return null;
    }

    private string? CheckCombined()
    {
        double tolerance = _c.DataType == EpDataType.BFloat16 ? 1.0 / 128 : 1e-5;
        int rowBytes = _c.RowBytes;
        for (int first = 0; first < _work.Tokens; first += ChunkRows)
        {
            int n = Math.Min(ChunkRows, _work.Tokens - first);
            _s.CombinedBuffer.Download(_rows.AsSpan(0, n * rowBytes), (long)first * rowBytes);
            for (int j = 0; j < n; j++)
            {
                int t = first + j;
                double sum = _work.WeightSum(_s.Rank, t);
                ReadOnlySpan<byte> got = _rows.AsSpan(j * rowBytes, rowBytes);
                ReadOnlySpan<byte> input = _work.Row(_s.Rank, t);
                for (int e = 0; e < _c.Hidden; e++)
                {
                    double expected = Element(input, e) * sum, value = Element(got, e);
                    if (!(Math.Abs(value - expected) <= tolerance * Math.Abs(expected)))
                    {
                        return $"combined[token {t}, element {e}] = {value:G6}; expected input {Element(input, e):G6} × Σ weights {sum:G6} = {expected:G6} " +
                            $"(|Δ| {Math.Abs(value - expected):G3} > {tolerance:G3} × |expected|)";
                    }
                }
            }
        }
        return null;
    }

    private static string? Compare(string what, int[] got, int[] expected)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (got[i] != expected[i])
                return $"{what}[{i}] = {got[i]}; the routing gives {expected[i]} (got [{string.Join(", ", got)}], expected [{string.Join(", ", expected)}])";
        }
        return null;
    }

    private int FirstDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int size = _c.DataType.SizeInBytes();
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i]) return i / size;
        }
        return 0;
    }

    private float Element(ReadOnlySpan<byte> row, int e) => _c.DataType == EpDataType.BFloat16
        ? BitConverter.UInt32BitsToSingle((uint)MemoryMarshal.Cast<byte, ushort>(row)[e] << 16)
        : MemoryMarshal.Cast<byte, float>(row)[e];
}
