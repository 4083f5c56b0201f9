using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NcclEp;

/// <summary>
/// A bfloat16 value with the exact conversions the kernels use: float → bf16 rounds to nearest even,
/// and every NaN becomes a quiet NaN with its sign kept (so both backends agree bit for bit).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 2)]
public readonly record struct BFloat16(ushort Bits)
{
    /// <summary>Rounds a float to bf16 (round to nearest, ties to even).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static BFloat16 FromSingle(float value) => new(RoundBits(value));

    /// <summary>The float this value represents exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float ToSingle() => BitConverter.UInt32BitsToSingle((uint)Bits << 16);

    /// <summary>The bf16 bit pattern of <paramref name="value"/> rounded to nearest even.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort RoundBits(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFFu) > 0x7F80_0000u) return (ushort)((bits >> 16) | 0x0040u);
        bits += 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)(bits >> 16);
    }

    /// <summary>Explicit conversion from float (rounds).</summary>
    public static explicit operator BFloat16(float value) => FromSingle(value);

    /// <summary>Widening conversion to float (exact).</summary>
    public static implicit operator float(BFloat16 value) => value.ToSingle();

    /// <summary>The value as text.</summary>
    public override string ToString() => ToSingle().ToString(System.Globalization.CultureInfo.InvariantCulture);
}
