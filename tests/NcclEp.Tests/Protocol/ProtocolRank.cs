using System;
using System.Collections.Generic;
using System.Linq;
using NcclEp.Testing;
using Xunit.Sdk;

namespace NcclEp.Tests.Protocol;

/// <summary>
/// One Host rank of a protocol test: its handle and packed buffers, the data-path calls, and the checks of each output
/// (dispatch against <see cref="ReferenceModel"/>, every combine-route result against <see cref="ProtocolExpected"/>),
/// bit for bit. Used from the rank's own thread only.
/// </summary>
internal sealed class ProtocolRank : IDisposable
{
    private const byte Poison = 0xA5;
    private readonly EpBuffer _ids, _weights, _x, _received, _expertOut, _combined;
    private readonly int _m, _k, _h, _local;
    private readonly long _layoutRows;

    /// <param name="group">The rank's group.</param>
    /// <param name="createHandle">Makes the rank's handle (default: <see cref="EpGroup.CreateHandle()"/>); the rank disposes it.</param>
    public ProtocolRank(EpGroup group, Func<EpGroup, EpHandle>? createHandle = null)
    {
        Group = group;
        Config = group.Config;
        World = group.WorldSize;
        (_m, _k, _h, _local) = (Config.MaxTokensPerRank, Config.TopK, Config.Hidden, group.LocalExperts);
        _layoutRows = Config.ReceiveRows(World);
        int rowBytes = Config.RowBytes;
        Handle = createHandle is null ? group.CreateHandle() : createHandle(group);
        _ids = group.AllocateBuffer((long)_m * _k * 4);
        _weights = group.AllocateBuffer((long)_m * _k * 4);
        _x = group.AllocateBuffer((long)_m * rowBytes);
        _combined = group.AllocateBuffer((long)_m * rowBytes);
        _received = group.AllocateBuffer(_layoutRows * rowBytes);
        _expertOut = group.AllocateBuffer(_layoutRows * rowBytes);
    }

    public EpGroup Group { get; }
    public EpConfig Config { get; }
    public int World { get; }
    public EpHandle Handle { get; }
    public int Rank => Group.Rank;
    public int Tokens { get; private set; }

    /// <summary>The home rows dispatched (<c>[Tokens, hidden]</c>).</summary>
    public EpTensor HomeTokens => Home(_x);

    /// <summary>The home output of combine-route calls (<c>[Tokens, hidden]</c>), checked by <see cref="CheckHome"/>.</summary>
    public EpTensor HomeCombined => Home(_combined);

    /// <summary>The dispatch output in the group's layout (the caller's buffer).</summary>
    public EpTensor LayoutReceived => Layout(_received);

    /// <summary>Uploads a batch and poisons every output.</summary>
    public void Load(RankBatch batch)
    {
        Tokens = batch.Tokens;
        _ids.Upload<int>(batch.Ids);
        _weights.Upload<float>(batch.Weights);
        _x.Upload<byte>(batch.X);
        foreach (EpBuffer b in new[] { _received, _expertOut, _combined }) b.Fill(Poison);
    }

    public void Update() => Handle.Update(
        EpTensor.Create2D(_ids.Pointer, EpDataType.Int32, Tokens, _k), EpTensor.Create2D(_weights.Pointer, EpDataType.Float32, Tokens, _k));

    public void Dispatch() => Group.Dispatch(Handle, Home(_x), Layout(_received));

    /// <summary>Combine of operation <paramref name="op"/>'s experts applied to the rows the dispatch delivered.</summary>
    public void Combine(int op)
    {
        WriteExpertOutputs(op);
        Group.Combine(Handle, Layout(_expertOut), Home(_combined));
    }

    /// <summary>The send half of <see cref="Dispatch"/>; <see cref="Complete"/> finishes it.</summary>
    public void DispatchSend() => Group.DispatchSend(Handle, Home(_x), Layout(_received));

    /// <summary>The send half of <see cref="Combine"/> (the expert outputs are written first); <see cref="Complete"/> finishes it.</summary>
    public void CombineSend(int op)
    {
        WriteExpertOutputs(op);
        Group.CombineSend(Handle, Layout(_expertOut), Home(_combined));
    }

    /// <summary>The send half of <see cref="DispatchBackward"/>; <see cref="Complete"/> finishes it.</summary>
    public void DispatchBackwardSend(int op)
    {
        WriteExpertOutputs(op);
        Group.DispatchSend(Handle, Home(_combined), Layout(_expertOut), pass: EpPass.Backward);
    }

    /// <summary>The complete half of this rank's send in flight.</summary>
    public void Complete() => Group.Complete(Handle);

    /// <summary>Every output byte: the dispatch output, the home output and the handle's receive-side metadata (bit-identity checks).</summary>
    public byte[] Outputs()
    {
        var bytes = new List<byte>();
        foreach (EpBuffer b in new[] { _received, _combined })
        {
            var part = new byte[b.Bytes];
            b.Download<byte>(part);
            bytes.AddRange(part);
        }
        foreach (EpTensor t in new[] { Handle.ReceivedRankCounts, Handle.ReceivedExpertCounts, Handle.ReceivedExpertOffsets, Handle.ReceivedTotal, Handle.ReceivedSourceInfo, Handle.ReceivedTopKIds, Handle.ReceivedTopKWeights })
            bytes.AddRange(HostView.Bytes(t));
        return bytes.ToArray();
    }

    /// <summary>Dispatch(Backward) (the combine route, unweighted) of operation <paramref name="op"/>'s rows.</summary>
    public void DispatchBackward(int op)
    {
        WriteExpertOutputs(op);
        Group.Dispatch(Handle, Home(_combined), Layout(_expertOut), pass: EpPass.Backward);
    }

    /// <summary>The home output of the last combine-route call equals <paramref name="expected"/>; rows past the tokens keep the poison.</summary>
    public void CheckHome(string what, uint[] expected)
    {
        uint[] got = Decode(_combined, _m * _h);
        uint poison = Numerics.PoisonBits(Poison, Config.DataType);
        for (int i = 0; i < _m * _h; i++)
        {
            uint want = i < expected.Length ? expected[i] : poison;
            if (got[i] != want)
                throw new XunitException($"rank {Rank}, {what}: token {i / _h} element {i % _h}: expected 0x{want:X}, got 0x{got[i]:X}");
        }
    }

    /// <summary>Counts, offsets, total, the source and row of every received row, zero padding, and the poison elsewhere.</summary>
    public void CheckDispatch(ExpectedReceive expected, IReadOnlyList<RankBatch> batches)
    {
        Same("ReceivedRankCounts", expected.RankCounts, HostView.Int32s(Handle.ReceivedRankCounts));
        Same("ReceivedExpertCounts", expected.ExpertCounts, HostView.Int32s(Handle.ReceivedExpertCounts));
        if (expected.ExpertOffsets is not null) Same("ReceivedExpertOffsets", expected.ExpertOffsets, HostView.Int32s(Handle.ReceivedExpertOffsets));
        Same("ReceivedTotal", new[] { expected.Total }, HostView.Int32s(Handle.ReceivedTotal));
        int[] info = HostView.Int32s(Handle.ReceivedSourceInfo);
        uint[] rows = Decode(_received, _layoutRows * _h);
        var written = new bool[_layoutRows];
        foreach (ExpectedRow row in expected.Rows)
        {
            written[row.Row] = true;
            if ((info[row.Row * 3], info[(row.Row * 3) + 1], info[(row.Row * 3) + 2]) != (row.Rank, row.Token, row.Slot))
                throw new XunitException($"rank {Rank}: ReceivedSourceInfo row {row.Row} is ({info[row.Row * 3]}, {info[(row.Row * 3) + 1]}, {info[(row.Row * 3) + 2]}), expected ({row.Rank}, {row.Token}, {row.Slot})");
            for (int e = 0; e < _h; e++)
            {
                uint want = row.IsPadding ? 0u : Numerics.ElementBits(batches[row.Rank].X, ((long)row.Token * _h) + e, Config.DataType);
                if (rows[(row.Row * _h) + e] != want)
                    throw new XunitException($"rank {Rank}: received row {row.Row} element {e}: expected 0x{want:X}, got 0x{rows[(row.Row * _h) + e]:X}");
            }
        }
        uint poison = Numerics.PoisonBits(Poison, Config.DataType);
        for (long r = 0; r < _layoutRows; r++)
        {
            if (!written[r] && rows[r * _h] != poison) throw new XunitException($"rank {Rank}: layout row {r} was written but the layout leaves it untouched");
        }
    }

    /// <summary>For every row the dispatch delivered, operation <paramref name="op"/>'s expert output; every other row keeps the poison.</summary>
    private void WriteExpertOutputs(int op)
    {
        int rowBytes = Config.RowBytes;
        var rows = new byte[_layoutRows * rowBytes];
        _received.Download<byte>(rows);
        var output = new byte[rows.Length];
        Array.Fill(output, Poison);
        foreach ((long first, long count, int key) in DeliveredRows())
        {
            int expert = AffineExperts.OfOperation(op, key);
            for (long r = first; r < first + count; r++)
            {
                var at = new Range((int)(r * rowBytes), (int)((r + 1) * rowBytes));
                AffineExperts.ExpertRow(Config.DataType, EpPass.Forward, expert, rows.AsSpan(at), output.AsSpan(at), _h);
            }
        }
        _expertOut.Upload<byte>(output);
    }

    /// <summary>The row ranges the last dispatch filled (from the handle's counts), each with its key: the expert, or this rank (per-rank layouts).</summary>
    private IEnumerable<(long First, long Count, int Key)> DeliveredRows()
    {
        int[] rankCounts = HostView.Int32s(Handle.ReceivedRankCounts), expertCounts = HostView.Int32s(Handle.ReceivedExpertCounts);
        int[] offsets = HostView.Int32s(Handle.ReceivedExpertOffsets);
        int total = HostView.Int32s(Handle.ReceivedTotal)[0];
        switch (Config.Layout)
        {
            case EpLayout.ExpertMajor:
                for (int l = 0; l < _local; l++) yield return (offsets[l], expertCounts[l], (Rank * _local) + l);
                break;
            case EpLayout.RankMajor:
                for (int s = 0; s < World; s++) yield return ((long)s * _m, rankCounts[s], Rank);
                break;
            default:
                yield return (0, total, Rank);
                break;
        }
    }

    private EpTensor Home(EpBuffer b) => EpTensor.Create2D(b.Pointer, Config.DataType, Tokens, _h);

    private EpTensor Layout(EpBuffer b) => (Config.Mode, Config.Layout) switch
    {
        (EpMode.LowLatency, EpLayout.ExpertMajor) => EpTensor.Create3D(b.Pointer, Config.DataType, _local, (long)World * _m, _h),
        (_, EpLayout.RankMajor) => EpTensor.Create3D(b.Pointer, Config.DataType, World, _m, _h),
        _ => EpTensor.Create2D(b.Pointer, Config.DataType, _layoutRows, _h),
    };

    private uint[] Decode(EpBuffer b, long elements)
    {
        var bytes = new byte[elements * Config.DataType.SizeInBytes()];
        b.Download<byte>(bytes);
        var bits = new uint[elements];
        for (long i = 0; i < elements; i++) bits[i] = Numerics.ElementBits(bytes, i, Config.DataType);
        return bits;
    }

    private void Same(string what, int[] expected, int[] got)
    {
        if (!expected.AsSpan().SequenceEqual(got))
            throw new XunitException($"rank {Rank}: {what} is [{string.Join(", ", got)}], expected [{string.Join(", ", expected)}]");
    }

    public void Dispose()
    {
        foreach (EpBuffer b in new[] { _ids, _weights, _x, _received, _expertOut, _combined }) b.Dispose();
        Handle.Dispose();
    }
}
