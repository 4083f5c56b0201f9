using System;

namespace NcclEp.Testing;

/// <summary>
/// Reads the handle's device-resident tensors. On the Host backend "device" memory is native memory of this
/// process, so the tests read it in place (on the rank's own thread, after its call returned).
/// </summary>
public static unsafe class HostView
{
    public static int[] Int32s(in EpTensor t)
    {
        if (t.DataType != EpDataType.Int32) throw new ArgumentException("not an int32 tensor", nameof(t));
        return new ReadOnlySpan<int>((void*)t.Data, checked((int)t.ElementCount)).ToArray();
    }

    public static float[] Floats(in EpTensor t)
    {
        if (t.DataType != EpDataType.Float32) throw new ArgumentException("not a float32 tensor", nameof(t));
        return new ReadOnlySpan<float>((void*)t.Data, checked((int)t.ElementCount)).ToArray();
    }

    /// <summary>The handle-internal recvSourceOffsets, [L][W]: first row of (local expert, source) in the expert's segment.</summary>
    public static int[] SourceOffsets(EpHandle h)
    {
        var offsets = new int[h.Group.LocalExperts * h.Group.WorldSize];
        HandleState.Read<int>(h, h.State + (nint)h.Layout.RecvSourceOffsets, offsets);
        return offsets;
    }

    /// <summary>Raw bytes of a handle tensor (for reproducibility comparisons).</summary>
    public static byte[] Bytes(in EpTensor t) =>
        new ReadOnlySpan<byte>((void*)t.Data, checked((int)(t.ElementCount * t.DataType.SizeInBytes()))).ToArray();
}

/// <summary>
/// A copy of the handle's receive-side metadata, taken right after a call (Host backend), with the handle-internal
/// (expert, source) offsets <c>recvSourceOffsets</c> ([L][W]) and, expert-major, the output row of each received
/// message's slot <c>recvMessageRows</c> ([W][M][K]; empty for per-rank layouts).
/// </summary>
public sealed record HandleSnapshot(
    int[] RankCounts, int[] ExpertCounts, int[] ExpertOffsets, int[] Total, int[] SourceInfo, int[] TopKIds, float[] TopKWeights,
    int[] SourceOffsets, int[] MessageRows)
{
    public static HandleSnapshot Take(EpHandle h) => new(
        HostView.Int32s(h.ReceivedRankCounts), HostView.Int32s(h.ReceivedExpertCounts), HostView.Int32s(h.ReceivedExpertOffsets),
        HostView.Int32s(h.ReceivedTotal), HostView.Int32s(h.ReceivedSourceInfo), HostView.Int32s(h.ReceivedTopKIds),
        HostView.Floats(h.ReceivedTopKWeights), HostView.SourceOffsets(h), ResultCollector.MessageRows(h));
}

/// <summary>A downloaded row buffer as element bits (bf16 or fp32), with reusable storage.</summary>
public sealed class ElementArray
{
    private readonly ushort[]? _half;
    private readonly uint[]? _full;

    public ElementArray(long elements, EpDataType type)
    {
        Type = type;
        Length = elements;
        if (type == EpDataType.BFloat16) _half = new ushort[elements];
        else _full = new uint[elements];
    }

    public EpDataType Type { get; }
    public long Length { get; }

    public uint this[long index] => _half is not null ? _half[index] : _full![index];

    public void Set(long index, uint bits)
    {
        if (_half is not null) _half[index] = (ushort)bits;
        else _full![index] = bits;
    }

    /// <summary>Index of the first element in [start, start + length) whose bits differ from <paramref name="bits"/>, or -1.</summary>
    public long FirstDifferent(long start, long length, uint bits)
    {
        int found = _half is not null
            ? _half.AsSpan((int)start, (int)length).IndexOfAnyExcept((ushort)bits)
            : _full.AsSpan((int)start, (int)length).IndexOfAnyExcept(bits);
        return found < 0 ? -1 : start + found;
    }

    public void Fill(byte poison)
    {
        if (_half is not null) Array.Fill(_half, (ushort)Numerics.PoisonBits(poison, Type));
        else Array.Fill(_full!, Numerics.PoisonBits(poison, Type));
    }

    public void DownloadFrom(EpBuffer buffer)
    {
        if (_half is not null) buffer.Download<ushort>(_half);
        else buffer.Download<uint>(_full!);
    }

    public void UploadTo(EpBuffer buffer)
    {
        if (_half is not null) buffer.Upload<ushort>(_half);
        else buffer.Upload<uint>(_full!);
    }

    public byte[] ToBytes()
    {
        var bytes = new byte[Length * Type.SizeInBytes()];
        if (_half is not null) Buffer.BlockCopy(_half, 0, bytes, 0, bytes.Length);
        else Buffer.BlockCopy(_full!, 0, bytes, 0, bytes.Length);
        return bytes;
    }
}
