using System;
using NcclEp;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>
/// The experts between dispatch and combine (not timed) on the host: <see cref="AffineExperts"/> applied to every row in
/// use (synchronise, download a chunk of rows and, for the per-rank layouts, the top-k beside them, apply, upload).
/// Expert-major rows get their expert's output; per-rank rows the weighted sum of their local experts' outputs. FP8 rows
/// (--dtype fp8) are dequantized first (<see cref="Fp8Rows.Dequantize"/>: each E4M3 value × its group's scale, rounded
/// once to the rows' dtype), as a grouped GEMM's prologue would.
/// </summary>
internal sealed class HostExpertsStep : IExpertsStep
{
    private const int ChunkRows = 256;
    private readonly RankState _s;
    private readonly ReceivedRuns _runs;
    private readonly byte[] _input, _output;
    private readonly int[] _ids;
    private readonly float[] _weights;
    private readonly Fp8Rows? _fp8;

    public HostExpertsStep(RankState state)
    {
        _s = state;
        _runs = new ReceivedRuns(state);
        EpConfig c = state.Config;
        _input = new byte[ChunkRows * c.RowBytes];
        _output = new byte[ChunkRows * c.RowBytes];
        bool perRank = c.Layout != EpLayout.ExpertMajor;
        _ids = perRank ? new int[ChunkRows * c.TopK] : [];
        _weights = perRank ? new float[ChunkRows * c.TopK] : [];
        _fp8 = c.IsDispatchQuantized ? new Fp8Rows(state, ChunkRows) : null;
    }

    public void Run()
    {
        _s.Backend.Synchronize(_s.Group, _s.Stream);
        _runs.Read();
        _fp8?.Refresh();
        for (int i = 0; i < _runs.RunCount; i++) Apply(_runs.CheckedRun(i));
    }

    private void Apply(RowRun run)
    {
        EpConfig c = _s.Config;
        int k = c.TopK, rowBytes = c.RowBytes, local = _s.Group.LocalExperts, firstLocal = _s.Rank * local;
        for (int done = 0; done < run.Count; done += ChunkRows)
        {
            int n = Math.Min(ChunkRows, run.Count - done);
            long first = run.Start + done;
            if (_fp8 is not null) _fp8.Dequantize(first, n, _input.AsSpan(0, n * rowBytes));
            else _s.ReceivedBuffer.Download(_input.AsSpan(0, n * rowBytes), _s.RowOffset(first));
            if (c.Layout != EpLayout.ExpertMajor)
            {
                _s.Read(_s.Handle.ReceivedTopKIds.Data + (nint)(first * k * 4), _ids.AsSpan(0, n * k));
                _s.Read(_s.Handle.ReceivedTopKWeights.Data + (nint)(first * k * 4), _weights.AsSpan(0, n * k));
            }
            for (int j = 0; j < n; j++)
            {
                ReadOnlySpan<byte> x = _input.AsSpan(j * rowBytes, rowBytes);
                Span<byte> y = _output.AsSpan(j * rowBytes, rowBytes);
                if (c.Layout == EpLayout.ExpertMajor) AffineExperts.ExpertRow(c.DataType, EpPass.Forward, firstLocal + run.Owner, x, y, c.Hidden);
                else AffineExperts.RankRow(c.DataType, EpPass.Forward, _ids.AsSpan(j * k, k), _weights.AsSpan(j * k, k), firstLocal, local, x, y, c.Hidden);
            }
            _s.ExpertOutputsBuffer.Upload<byte>(_output.AsSpan(0, n * rowBytes), _s.RowOffset(first));
        }
    }
}
