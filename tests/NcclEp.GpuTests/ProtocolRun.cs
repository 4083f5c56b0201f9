using System;
using System.Threading;
using NcclEp.Cuda;
using NcclEp.Interop;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// Runs a <see cref="ProtocolScript"/> on one backend, a thread per rank, and returns what each rank produced: after
/// each dispatch its counts, received rows and source info; after each combine-route step its home rows. The experts
/// are the shared test experts of the step (<see cref="AffineExperts.OfOperation"/>), keyed by the expert
/// (expert-major) or the receiving rank, so rows of another step, slot or rank never match.
/// </summary>
internal static class ProtocolRun
{
    public static RankResult[] Run(EpGroup[] groups, ProtocolScript script)
    {
        var results = new RankResult[groups.Length];
        using var ready = new Barrier(groups.Length);
        RankThreads.RunOnce(groups.Length, rank =>
        {
            using var me = new ProtocolRankRun(groups[rank], script);
            // Co-located ranks share a GPU: allocation must not overlap another rank's waiting kernels.
            if (!ready.SignalAndWait(TimeSpan.FromSeconds(60))) throw new TimeoutException("A peer rank did not reach the start barrier.");
            results[rank] = me.RunAll();
        }, TimeSpan.FromMinutes(3));
        return results;
    }
}

/// <summary>One rank's buffers and stream for a protocol script (see <see cref="ProtocolRun"/>).</summary>
internal sealed unsafe class ProtocolRankRun : IDisposable
{
    private readonly EpGroup _g;
    private readonly EpConfig _c;
    private readonly ProtocolScript _script;
    private readonly int _world, _local, _rank;
    private readonly long _rowBytes, _layoutRows;
    private readonly EpHandle _handle;
    private readonly EpBuffer _ids, _weights, _x, _received, _spin;
    private readonly EpBuffer[] _expertOut, _home;
    private readonly nint _stream;
    private readonly RankResult _result = new();
    private int _tokens;

    public ProtocolRankRun(EpGroup g, ProtocolScript script)
    {
        _g = g;
        _c = g.Config;
        _script = script;
        (_world, _local, _rank) = (g.WorldSize, g.LocalExperts, g.Rank);
        _rowBytes = _c.RowBytes;
        _layoutRows = _c.ReceiveRows(_world);
        int m = _c.MaxTokensPerRank, k = _c.TopK;
        _handle = g.CreateHandle();
        _ids = g.AllocateBuffer((long)m * k * 4);
        _weights = g.AllocateBuffer((long)m * k * 4);
        _x = g.AllocateBuffer(m * _rowBytes);
        _received = g.AllocateBuffer(_layoutRows * _rowBytes);
        _spin = g.AllocateBuffer(16);
        _spin.Fill(0);
        _expertOut = new EpBuffer[Math.Max(1, script.Slots)];
        _home = new EpBuffer[_expertOut.Length];
        for (int s = 0; s < _expertOut.Length; s++)
        {
            _expertOut[s] = g.AllocateBuffer(_layoutRows * _rowBytes);
            _home[s] = g.AllocateBuffer(m * _rowBytes);
        }
        _stream = g.CreateStream().Handle;  // owned by the group (Host: the default stream)
    }

    private EpStream Stream => new(_stream);

    public RankResult RunAll()
    {
        int pending = 0;  // combine-route steps launched since the last dispatch, not read back yet
        for (int i = 0; i < _script.Steps.Count; i++)
        {
            ProtocolStep step = _script.Steps[i];
            if (step.Kind is ProtocolStepKind.Update or ProtocolStepKind.Dispatch && pending > 0)
            {
                ReadHomes(i - pending, pending);
                pending = 0;
            }
            Hold(_script.DelayNs(_rank, i), _script.HoldOnHost(_rank, i));
            switch (step.Kind)
            {
                case ProtocolStepKind.Update:
                    Load(_script.Inputs(step.Round, _rank));
                    _handle.Update(EpTensor.Create2D(_ids.Pointer, EpDataType.Int32, _tokens, _c.TopK),
                        EpTensor.Create2D(_weights.Pointer, EpDataType.Float32, _tokens, _c.TopK), Stream);
                    break;
                case ProtocolStepKind.Dispatch:
                    _g.Dispatch(_handle, Home(_x), Layout(_received), Stream);
                    _g.Synchronize(Stream);
                    ReadDispatch(step.Op, i);
                    break;
                case ProtocolStepKind.Combine:
                    _g.Combine(_handle, Layout(_expertOut[step.Slot]), Home(_home[step.Slot]), Stream);
                    pending++;
                    break;
                case ProtocolStepKind.DispatchBackward:
                    _g.Dispatch(_handle, Home(_home[step.Slot]), Layout(_expertOut[step.Slot]), Stream, EpPass.Backward);
                    pending++;
                    break;
            }
        }
        if (pending > 0) ReadHomes(_script.Steps.Count - pending, pending);
        return _result;
    }

    private void Load(RankBatch input)
    {
        _tokens = input.Tokens;
        if (_tokens > 0)
        {
            _ids.Upload<int>(input.Ids);
            _weights.Upload<float>(input.Weights);
            _x.Upload<byte>(input.X);
        }
        _received.Fill(0xEE);
        foreach (EpBuffer b in _home) b.Fill(0xEE);
    }

    private void Hold(long ns, bool onHost) => DeviceHold.Run(_g, _spin, _stream, ns, onHost);

    /// <summary>The dispatch's counts, rows and source info, then the experts' outputs of the combine-route steps after it.</summary>
    private void ReadDispatch(int op, int stepIndex)
    {
        int[] rankCounts = State(_handle.ReceivedRankCounts, _world), expertCounts = State(_handle.ReceivedExpertCounts, _local);
        int[] offsets = State(_handle.ReceivedExpertOffsets, _local + 1), total = State(_handle.ReceivedTotal, 1);
        string at = $"dispatch op {op}: ";
        _result.Add(at + "rankCounts", Bytes(rankCounts));
        _result.Add(at + "expertCounts", Bytes(expertCounts));
        _result.Add(at + "expertOffsets", Bytes(offsets));
        _result.Add(at + "total", Bytes(total));
        var rows = new byte[_layoutRows * _rowBytes];
        _received.Download<byte>(rows);
        var outputs = new byte[_expertOut.Length][];
        for (int i = stepIndex + 1; i < _script.Steps.Count && _script.Steps[i].Kind is ProtocolStepKind.Combine or ProtocolStepKind.DispatchBackward; i++)
            outputs[_script.Steps[i].Slot] = new byte[rows.Length];
        foreach ((long first, long count) in LayoutRows.Defined(_c, _world, rankCounts, expertCounts, offsets, total[0]))
        {
            string range = $"[{first}..{first + count})";
            _result.Add(at + "received" + range, rows.AsSpan((int)(first * _rowBytes), (int)(count * _rowBytes)).ToArray());
            var info = new byte[count * 12];
            if (count > 0) HandleState.Read<byte>(_handle, _handle.ReceivedSourceInfo.Data + (nint)(first * 12), info);
            _result.Add(at + "sourceInfo" + range, info);
            for (int i = stepIndex + 1; i < _script.Steps.Count && _script.Steps[i].Kind is ProtocolStepKind.Combine or ProtocolStepKind.DispatchBackward; i++)
                LayoutExperts.Apply(_c, _world, _rank, rows, outputs[_script.Steps[i].Slot], first, count, offsets, _script.Steps[i].Op);
        }
        for (int s = 0; s < outputs.Length; s++)
            if (outputs[s] is not null) _expertOut[s].Upload<byte>(outputs[s]);
    }

    /// <summary>Waits for the combine-route steps from <paramref name="firstStep"/> on and keeps each one's home rows.</summary>
    private void ReadHomes(int firstStep, int steps)
    {
        _g.Synchronize(Stream);
        for (int i = firstStep; i < firstStep + steps; i++)
        {
            ProtocolStep step = _script.Steps[i];
            var rows = new byte[_tokens * _rowBytes];
            if (rows.Length > 0) _home[step.Slot].Download<byte>(rows);
            _result.Add($"{step.Kind} op {step.Op}: home", rows);
        }
    }

    private EpTensor Home(EpBuffer b) => EpTensor.Create2D(b.Pointer, _c.DataType, _tokens, _c.Hidden);

    private EpTensor Layout(EpBuffer b) => (_c.Mode, _c.Layout) switch
    {
        (EpMode.LowLatency, EpLayout.ExpertMajor) => EpTensor.Create3D(b.Pointer, _c.DataType, _local, (long)_world * _c.MaxTokensPerRank, _c.Hidden),
        (_, EpLayout.RankMajor) => EpTensor.Create3D(b.Pointer, _c.DataType, _world, _c.MaxTokensPerRank, _c.Hidden),
        _ => EpTensor.Create2D(b.Pointer, _c.DataType, _layoutRows, _c.Hidden),
    };

    private int[] State(EpTensor t, int n)
    {
        var values = new int[n];
        HandleState.Read<int>(_handle, t.Data, values);
        return values;
    }

    private static byte[] Bytes(int[] values) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    public void Dispose()
    {
        foreach (EpBuffer b in new[] { _ids, _weights, _x, _received, _spin }) b.Dispose();
        foreach (EpBuffer b in _expertOut) b.Dispose();
        foreach (EpBuffer b in _home) b.Dispose();
        _handle.Dispose();
    }
}
