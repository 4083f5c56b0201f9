using System;
using System.Runtime.InteropServices;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// One rank of an <see cref="OverlapCase"/>: two micro-batches' handles and buffers, and the case's calls, either split
/// into sends and completes (zero-copy: into the window's rows) with holds between them, or (<c>plain</c>, the Host
/// oracle) as the plain calls with owned handles and the caller's buffers. Both record the same named results.
/// </summary>
internal sealed class OverlapRankRun : IDisposable
{
    private readonly EpGroup _g;
    private readonly EpConfig _c;
    private readonly OverlapCase _case;
    private readonly bool _plain;
    private readonly int _world, _rank;
    private readonly long _rowBytes, _layoutRows;
    private readonly EpBuffer? _handleMemory;
    private readonly EpBuffer _spin;
    private readonly MicroBatch[] _batches = new MicroBatch[2];
    private readonly nint _stream;
    private readonly RankResult _result = new();
    private int _holds;

    public OverlapRankRun(EpGroup g, OverlapCase c, bool plain)
    {
        _g = g;
        _c = g.Config;
        _case = c;
        _plain = plain;
        (_world, _rank) = (g.WorldSize, g.Rank);
        _rowBytes = _c.RowBytes;
        _layoutRows = _c.ReceiveRows(_world);
        HandleMemoryKind memory = plain ? HandleMemoryKind.Owned : c.Memory;
        long slot = (g.HandleBytes + 255) / 256 * 256;
        if (memory != HandleMemoryKind.Owned) _handleMemory = g.AllocateBuffer((2 * slot) + EpGroup.HandleAlignment);
        for (int b = 0; b < 2; b++)
        {
            long offset = EpGroup.HandleAlignment + (b * slot);  // away from the buffer's start: an offset is honoured
            EpHandle handle = memory switch
            {
                HandleMemoryKind.Owned => g.CreateHandle(),
                HandleMemoryKind.Buffer => g.CreateHandle(_handleMemory!, offset),
                _ => g.CreateHandle(_handleMemory!.Pointer + (nint)offset, g.HandleBytes),
            };
            _batches[b] = new MicroBatch(g, handle, _layoutRows * _rowBytes, _c.MaxTokensPerRank * _rowBytes);
        }
        _spin = g.AllocateBuffer(16);
        _spin.Fill(0);
        _stream = g.CreateStream().Handle;  // owned by the group (Host: the default stream)
    }

    private EpStream Stream => new(_stream);

    public RankResult RunAll()
    {
        for (int round = 0; round < _case.Rounds; round++)
        {
            if (_case.Kind == OverlapKind.Split) RunSplitRound(round);
            else RunZeroCopyRound(round);
        }
        return _result;
    }

    /// <summary>
    /// a: dispatch; b: dispatch in flight with a's combine; b's combine in flight with a's Combine(Backward); a's
    /// Dispatch(Backward). Each send followed by a hold (the caller's work), then its complete.
    /// </summary>
    private void RunSplitRound(int round)
    {
        MicroBatch a = _batches[0], b = _batches[1];
        int op = round * 10;
        string at = $"round {round} ";
        a.Load(_case.Inputs(round, 0, _rank));
        a.Update(Stream);
        Call(a, a.DispatchArgs(), Route.Dispatch, EpPass.Forward);
        Complete(a);
        ReadDispatch(a, at + "a", op + 1);

        b.Load(_case.Inputs(round, 1, _rank));
        b.Update(Stream);
        Call(b, b.DispatchArgs(), Route.Dispatch, EpPass.Forward);
        Call(a, a.CombineArgs(), Route.Combine, EpPass.Forward);
        Hold();
        Complete(b);
        Complete(a);
        ReadDispatch(b, at + "b", op + 2);
        ReadHome(a, a.Home, at + "a combine");

        Call(b, b.CombineArgs(), Route.Combine, EpPass.Forward);
        Call(a, a.CombineBackwardArgs(), Route.Combine, EpPass.Backward);
        Hold();
        Complete(a);
        Complete(b);
        ReadHome(b, b.Home, at + "b combine");
        ReadLayout(a, a.GradRows, at + "a Combine(Backward)");

        Call(a, a.DispatchBackwardArgs(), Route.Dispatch, EpPass.Backward);
        Complete(a);
        ReadHome(a, a.TokenGrad, at + "a Dispatch(Backward)");
    }

    /// <summary>
    /// Zero-copy: the dispatch into the window's rows, the experts written there in place, the combine reading them there;
    /// the plain side copies into and out of the caller's buffers. Odd rounds add a plain dispatch of b, so the zero-copy
    /// rounds use both window halves.
    /// </summary>
    private void RunZeroCopyRound(int round)
    {
        MicroBatch a = _batches[0], b = _batches[1];
        int op = round * 10;
        a.Load(_case.Inputs(round, 0, _rank));
        a.Update(Stream);
        EpTensor rows = _plain ? a.LayoutTensor(a.Received, _c, _world) : _g.WindowReceiveRows();
        EpTensor tokens = a.HomeTensor(a.X, _c);
        if (_plain)
        {
            _g.Dispatch(a.Handle, in tokens, in rows, Stream);
        }
        else
        {
            _g.DispatchSend(a.Handle, in tokens, in rows, Stream);
            Hold();
            _g.Complete(a.Handle, Stream);
        }
        _g.Synchronize(Stream);
        int[] counts = ReadState(a.Handle, a.Handle.ReceivedRankCounts, _world);
        _result.Add($"round {round} rankCounts", MemoryMarshal.AsBytes(counts.AsSpan()).ToArray());
        EpTensor outputs = _plain ? a.LayoutTensor(a.ExpertOut, _c, _world) : rows;  // in place in the window
        for (int s = 0; s < _world; s++)
        {
            for (int i = 0; i < counts[s]; i++)
            {
                byte[] row = RowBytes(in rows, s, i);
                _result.Add($"round {round} received ({s}, {i})", row);
                DeviceBytes.Write(_g, RowAddress(in outputs, s, i), ExpertRow(row, op + 1));
            }
        }
        EpTensor home = a.HomeTensor(a.Home, _c);
        if (_plain)
        {
            _g.Combine(a.Handle, in outputs, in home, Stream);
        }
        else
        {
            _g.CombineSend(a.Handle, in outputs, in home, Stream);
            Hold();
            _g.Complete(a.Handle, Stream);
        }
        ReadHome(a, a.Home, $"round {round} combine");

        if (round % 2 == 1)
        {
            b.Load(_case.Inputs(round, 1, _rank));
            b.Update(Stream);
            _g.Dispatch(b.Handle, b.HomeTensor(b.X, _c), b.LayoutTensor(b.Received, _c, _world), Stream);
            ReadLayout(b, b.Received, $"round {round} plain b");
        }
    }

    private enum Route
    {
        Dispatch,
        Combine,
    }

    /// <summary>The send (or, plain, the whole call) of a dispatch- or combine-shaped call; a hold follows a send.</summary>
    private void Call(MicroBatch m, (EpTensor Home, EpTensor Rows) args, Route call, EpPass pass)
    {
        if (call == Route.Dispatch)
        {
            if (_plain) _g.Dispatch(m.Handle, in args.Home, in args.Rows, Stream, pass);
            else _g.DispatchSend(m.Handle, in args.Home, in args.Rows, Stream, pass);
        }
        else
        {
            if (_plain) _g.Combine(m.Handle, in args.Rows, in args.Home, Stream, pass);
            else _g.CombineSend(m.Handle, in args.Rows, in args.Home, Stream, pass);
        }
        if (!_plain) Hold();
    }

    private void Complete(MicroBatch m)
    {
        if (!_plain) _g.Complete(m.Handle, Stream);
    }

    /// <summary>The caller's work between a send and its complete: a spin kernel (Cuda) or a sleep, the same length on both sides.</summary>
    private void Hold() => DeviceHold.Run(_g, _spin, _stream, _case.HoldNs(_rank, _holds++), onHost: _plain);

    /// <summary>The dispatch's metadata and rows in use; the experts' outputs of step <paramref name="op"/> into the batch's expert-output buffer.</summary>
    private void ReadDispatch(MicroBatch m, string at, int op)
    {
        int[] offsets = ReadLayout(m, m.Received, at);
        var rows = new byte[_layoutRows * _rowBytes];
        m.Received.Download<byte>(rows);
        var output = new byte[rows.Length];
        int[] rankCounts = ReadState(m.Handle, m.Handle.ReceivedRankCounts, _world);
        int[] expertCounts = ReadState(m.Handle, m.Handle.ReceivedExpertCounts, _g.LocalExperts);
        int total = ReadState(m.Handle, m.Handle.ReceivedTotal, 1)[0];
        foreach ((long first, long count) in LayoutRows.Defined(_c, _world, rankCounts, expertCounts, offsets, total))
            LayoutExperts.Apply(_c, _world, _rank, rows, output, first, count, offsets, op);
        m.ExpertOut.Upload<byte>(output);
    }

    /// <summary>Counts, offsets, total, and the rows and source info in use of <paramref name="layout"/>; returns the offsets.</summary>
    private int[] ReadLayout(MicroBatch m, EpBuffer layout, string at)
    {
        _g.Synchronize(Stream);
        EpHandle h = m.Handle;
        int[] rankCounts = ReadState(h, h.ReceivedRankCounts, _world), expertCounts = ReadState(h, h.ReceivedExpertCounts, _g.LocalExperts);
        int[] offsets = ReadState(h, h.ReceivedExpertOffsets, _g.LocalExperts + 1), total = ReadState(h, h.ReceivedTotal, 1);
        foreach ((string name, int[] values) in new[] { ("rankCounts", rankCounts), ("expertCounts", expertCounts), ("expertOffsets", offsets), ("total", total) })
            _result.Add($"{at}: {name}", MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        var rows = new byte[_layoutRows * _rowBytes];
        layout.Download<byte>(rows);
        foreach ((long first, long count) in LayoutRows.Defined(_c, _world, rankCounts, expertCounts, offsets, total[0]))
        {
            string range = $"[{first}..{first + count})";
            _result.Add($"{at}: rows{range}", rows.AsSpan((int)(first * _rowBytes), (int)(count * _rowBytes)).ToArray());
            var info = new byte[count * 12];
            if (count > 0) HandleState.Read<byte>(h, h.ReceivedSourceInfo.Data + (nint)(first * 12), info);
            _result.Add($"{at}: sourceInfo{range}", info);
        }
        return offsets;
    }

    /// <summary>The home rows of <paramref name="m"/>'s tokens in <paramref name="home"/>.</summary>
    private void ReadHome(MicroBatch m, EpBuffer home, string at)
    {
        _g.Synchronize(Stream);
        var rows = new byte[m.Tokens * _rowBytes];
        if (rows.Length > 0) home.Download<byte>(rows);
        _result.Add($"{at}: home", rows);
    }

    private byte[] RowBytes(in EpTensor rows, int s, int i)
    {
        var row = new byte[_rowBytes];
        DeviceBytes.Read(_g, RowAddress(in rows, s, i), row);
        return row;
    }

    private nint RowAddress(in EpTensor rows, int s, int i) =>
        rows.Data + (nint)(((s * rows.Stride(0)) + (i * rows.Stride(1))) * _c.DataType.SizeInBytes());

    /// <summary>Step <paramref name="op"/>'s expert of this rank (the per-rank key) over one row.</summary>
    private byte[] ExpertRow(byte[] row, int op)
    {
        var output = new byte[row.Length];
        LayoutExperts.Apply(_c, _world, _rank, row, output, 0, 1, [], op);
        return output;
    }

    private static int[] ReadState(EpHandle h, EpTensor t, int n)
    {
        var values = new int[n];
        HandleState.Read<int>(h, t.Data, values);
        return values;
    }

    public void Dispose()
    {
        foreach (MicroBatch b in _batches) b?.Dispose();
        _spin.Dispose();
        _handleMemory?.Dispose();
    }
}
