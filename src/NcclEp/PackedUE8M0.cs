using System;
using System.Runtime.InteropServices;

namespace NcclEp;

/// <summary>
/// Four UE8M0 scales in one 32-bit word (<see cref="EpDataType.PackedUE8M0"/>): byte <c>j</c> (bits <c>8j..8j+7</c>)
/// is the biased exponent <c>e</c> of the power-of-two scale <c>2^(e-127)</c> of channel group <c>4w + j</c> of its
/// row, for word <c>w</c>. Byte 255 would be NaN; an FP8 dispatch never writes it (its scales lie in 2^-126..2^127).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 4)]
public readonly record struct PackedUE8M0(uint Bits)
{
    /// <summary>Scales in one word.</summary>
    public const int Count = 4;

    /// <summary>The exponent byte of scale <paramref name="index"/> (0..3).</summary>
    public byte Exponent(int index)
    {
        if ((uint)index >= Count) ThrowHelper.IndexOutOfRange(nameof(index), index, Count);
        return (byte)(Bits >> (8 * index));
    }

    /// <summary>Scale <paramref name="index"/> (0..3) as a float: <c>2^(e-127)</c>, NaN for byte 255.</summary>
    public float Scale(int index) => ToScale(Exponent(index));

    /// <summary>The scale a UE8M0 exponent byte stands for: <c>2^(e-127)</c> (exact in fp32), NaN for 255.</summary>
    public static float ToScale(byte exponent) => exponent == 0xFF ? float.NaN : MathF.ScaleB(1f, exponent - 127);

    /// <summary>The word of four exponent bytes, the first in the low byte.</summary>
    public static PackedUE8M0 Pack(byte e0, byte e1, byte e2, byte e3) =>
        new((uint)e0 | ((uint)e1 << 8) | ((uint)e2 << 16) | ((uint)e3 << 24));
}
