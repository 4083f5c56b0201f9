using System;

namespace NcclEp.Testing;

/// <summary>
/// The test suite's own element arithmetic, written independently of the library: bf16 round-to-nearest-even
/// from the float's bit pattern, and encoding of a float as the bits of an element of a row dtype.
/// </summary>
public static class Numerics
{
    /// <summary>float → bf16 bits, ties to even; a NaN keeps its sign and becomes quiet.</summary>
    public static uint RoundToBf16Bits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint upper = bits >> 16, lower = bits & 0xFFFFu;
        if (float.IsNaN(value)) return upper | 0x0040u;
        bool roundUp = lower > 0x8000u || (lower == 0x8000u && (upper & 1u) == 1u);
        return roundUp ? upper + 1u : upper;
    }

    /// <summary>The float a bf16 bit pattern stands for (exact).</summary>
    public static float Bf16ToFloat(uint bits) => BitConverter.UInt32BitsToSingle(bits << 16);

    /// <summary>Rounds a float to the precision of <paramref name="type"/> (bf16 or fp32).</summary>
    public static float Round(float value, EpDataType type) =>
        type == EpDataType.BFloat16 ? Bf16ToFloat(RoundToBf16Bits(value)) : value;

    /// <summary>Bits of one element of <paramref name="type"/> holding <paramref name="value"/> (rounded once).</summary>
    public static uint Encode(float value, EpDataType type) =>
        type == EpDataType.BFloat16 ? RoundToBf16Bits(value) : BitConverter.SingleToUInt32Bits(value);

    /// <summary>The float an element's bits stand for.</summary>
    public static float Decode(uint bits, EpDataType type) =>
        type == EpDataType.BFloat16 ? Bf16ToFloat(bits) : BitConverter.UInt32BitsToSingle(bits);

    /// <summary>Element <paramref name="index"/> of <paramref name="data"/> read as bits of <paramref name="type"/>.</summary>
    public static uint ElementBits(ReadOnlySpan<byte> data, long index, EpDataType type) => type == EpDataType.BFloat16
        ? BitConverter.ToUInt16(data.Slice((int)(index * 2), 2))
        : BitConverter.ToUInt32(data.Slice((int)(index * 4), 4));

    /// <summary>Element <paramref name="index"/> of <paramref name="data"/>, decoded to a float.</summary>
    public static float DecodeAt(ReadOnlySpan<byte> data, long index, EpDataType type) => Decode(ElementBits(data, index, type), type);

    /// <summary>Writes element <paramref name="index"/> of <paramref name="data"/> as bits of <paramref name="type"/>.</summary>
    public static void WriteElement(Span<byte> data, long index, EpDataType type, uint bits)
    {
        if (type == EpDataType.BFloat16) BitConverter.TryWriteBytes(data.Slice((int)(index * 2), 2), (ushort)bits);
        else BitConverter.TryWriteBytes(data.Slice((int)(index * 4), 4), bits);
    }

    /// <summary>Element bits (one per element) as the bytes of a row buffer of <paramref name="type"/>.</summary>
    public static byte[] ElementBytes(uint[] bits, EpDataType type)
    {
        var bytes = new byte[bits.LongLength * type.SizeInBytes()];
        for (long i = 0; i < bits.LongLength; i++) WriteElement(bytes, i, type, bits[i]);
        return bytes;
    }

    /// <summary>The element bits a buffer filled with <paramref name="fill"/> holds.</summary>
    public static uint PoisonBits(byte fill, EpDataType type) => type == EpDataType.BFloat16
        ? (uint)((fill << 8) | fill)
        : (uint)((fill << 24) | (fill << 16) | (fill << 8) | fill);
}
