using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NcclEp;

/// <summary>
/// An FP8 E4M3 value (OCP FP8 "E4M3FN"): 1 sign bit, 4 exponent bits with bias 7, 3 mantissa bits. Exponent 0 holds the
/// subnormals <c>m · 2^-9</c>; there is no infinity, the largest magnitude is 448 (<c>0x7E</c>), and <c>S.1111.111</c>
/// is NaN. The conversion from float is the one both backends use (docs/fp8.md).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 1)]
public readonly record struct Float8E4M3(byte Bits)
{
    /// <summary>The largest finite magnitude, 448.</summary>
    public const float MaxValue = 448f;

    /// <summary>The code every NaN becomes: <c>0x7F</c>.</summary>
    public const byte NaNBits = 0x7F;

    /// <summary>Whether this is one of the two NaN codes (<c>0x7F</c>, <c>0xFF</c>).</summary>
    public bool IsNaN => (Bits & 0x7F) == 0x7F;

    /// <summary>
    /// Rounds a float to E4M3: to nearest, ties to even; magnitudes at or above 448 (infinity included) saturate to ±448;
    /// any NaN gives <see cref="NaNBits"/>; the sign is kept, zero included (-0 and negative values that round to zero give
    /// <c>0x80</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float8E4M3 FromSingle(float value) => new(RoundBits(value));

    /// <summary>The value this code represents exactly (NaN for the NaN codes).</summary>
    public float ToSingle()
    {
        if (IsNaN) return float.NaN;
        int exponent = (Bits >> 3) & 0xF, mantissa = Bits & 7;
        float magnitude = exponent == 0 ? mantissa * (1f / 512) : (8 + mantissa) * MathF.ScaleB(1f, exponent - 10);
        return (Bits & 0x80) != 0 ? -magnitude : magnitude;
    }

    /// <summary>The E4M3 bit pattern of <paramref name="value"/> (the rule of <see cref="FromSingle"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte RoundBits(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        uint sign = (u >> 24) & 0x80u, a = u & 0x7FFF_FFFFu;
        if (a > 0x7F80_0000u) return NaNBits;
        if (a >= 0x43E0_0000u) return (byte)(sign | 0x7Eu);                 // |value| >= 448, infinity included
        if (a >= 0x3C80_0000u)                                              // |value| >= 2^-6: a normal code
            return (byte)(sign | (((a + 0x7FFFFu + ((a >> 20) & 1u)) >> 20) - (120u << 3)));
        // Subnormal codes: |value| · 2^9 (exact) rounded to the nearest integer, ties to even; 8 is the smallest normal.
        return (byte)(sign | (uint)MathF.Round(BitConverter.UInt32BitsToSingle(a) * 512f, MidpointRounding.ToEven));
    }

    /// <summary>Explicit conversion from float (rounds; see <see cref="FromSingle"/>).</summary>
    public static explicit operator Float8E4M3(float value) => FromSingle(value);

    /// <summary>Widening conversion to float (exact).</summary>
    public static implicit operator float(Float8E4M3 value) => value.ToSingle();

    /// <summary>The value as text.</summary>
    public override string ToString() => ToSingle().ToString(System.Globalization.CultureInfo.InvariantCulture);
}
