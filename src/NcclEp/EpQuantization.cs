using System;
using System.Runtime.CompilerServices;

namespace NcclEp;

/// <summary>
/// The FP8 quantization of a dispatch (<see cref="EpDispatchQuantization"/>), the same on both backends bit for bit: per
/// row and per group of <see cref="GroupSize"/> channels,
/// <list type="number">
/// <item><c>amax</c> = the largest magnitude among the group's finite inputs (NaN and ±infinity are left out; 0 when
/// none is finite), exact in fp32;</item>
/// <item><c>scale</c> = <c>amax / 448</c>, one correctly rounded fp32 division, raised to <see cref="SmallestScale"/>
/// (2^-126) if below it — so an all-zero group's scale is 2^-126; power-of-two recipes then round it up to the next
/// power of two (no value can saturate); UE8M0 stores that power's biased exponent byte;</item>
/// <item><c>q</c> = E4M3(<c>x / scale</c>): the quotient correctly rounded to fp32, then rounded to nearest E4M3, ties to
/// even, saturating at ±448 (E4M3 has no infinity: ±infinity gives ±448), NaN giving the code 0x7F, the sign kept
/// (<see cref="Float8E4M3.FromSingle"/>).</item>
/// </list>
/// A NaN input does not change its group's scale. Dequantized, <c>x ≈ q · scale</c>. docs/fp8.md has the layouts.
/// </summary>
public static class EpQuantization
{
    /// <summary>Channels per scale.</summary>
    public const int GroupSize = 128;

    /// <summary>Scales per <see cref="PackedUE8M0"/> word (so UE8M0 needs hidden to be a multiple of 512).</summary>
    public const int PackedGroups = PackedUE8M0.Count;

    /// <summary>The smallest scale: 2^-126, the smallest normal fp32 (an all-zero group's scale).</summary>
    public const float SmallestScale = 1.17549435E-38f;

    /// <summary>The largest magnitude among the finite values of <paramref name="group"/>; 0 when none is finite.</summary>
    public static float AbsMax(ReadOnlySpan<float> group)
    {
        uint amax = 0;
        foreach (float x in group) amax = AbsMaxBits(amax, x);
        return BitConverter.UInt32BitsToSingle(amax);
    }

    /// <summary>The scale of a group whose <see cref="AbsMax"/> is <paramref name="absMax"/> (step 2 of the rule).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="recipe"/> is <see cref="EpDispatchQuantization.None"/> or undefined.</exception>
    public static float Scale(float absMax, EpDispatchQuantization recipe)
    {
        if (recipe is not (EpDispatchQuantization.Float8E4M3 or EpDispatchQuantization.Float8E4M3PowerOfTwo or EpDispatchQuantization.Float8E4M3UE8M0))
            ThrowHelper.OutOfRange(nameof(recipe), (int)recipe, "is not an FP8 recipe");
        uint bits = BitConverter.SingleToUInt32Bits(absMax) & 0x7FFF_FFFFu;
        return ScaleOf(bits < 0x7F80_0000u ? bits : 0u, recipe);
    }

    /// <summary>The UE8M0 byte of a power-of-two scale of an FP8 dispatch: its biased exponent.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scale"/> is not a power of two in 2^-126..2^127.</exception>
    public static byte ExponentOf(float scale)
    {
        uint bits = BitConverter.SingleToUInt32Bits(scale);
        if ((bits & 0x807F_FFFFu) != 0 || bits == 0 || bits >= 0x7F80_0000u)
            ThrowHelper.Argument(nameof(scale), $"{scale} is not a positive normal power of two.");
        return (byte)(bits >> 23);
    }

    /// <summary>
    /// Quantizes one group (at most <see cref="GroupSize"/> values; the rule does not depend on the count) into
    /// <paramref name="quantized"/>; returns its scale (for UE8M0 the power of two that <see cref="ExponentOf"/> encodes).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="quantized"/> is shorter than <paramref name="group"/>.</exception>
    public static float QuantizeGroup(ReadOnlySpan<float> group, Span<Float8E4M3> quantized, EpDispatchQuantization recipe)
    {
        if (quantized.Length < group.Length)
            ThrowHelper.Argument(nameof(quantized), $"{nameof(quantized)} has {quantized.Length} elements; the group has {group.Length}.");
        float scale = Scale(AbsMax(group), recipe);
        for (int i = 0; i < group.Length; i++) quantized[i] = new Float8E4M3(Float8E4M3.RoundBits(group[i] / scale));
        return scale;
    }

    /// <summary>Running amax in bits: the larger of <paramref name="amax"/> and |<paramref name="value"/>| if that is finite.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint AbsMaxBits(uint amax, float value)
    {
        uint a = BitConverter.SingleToUInt32Bits(value) & 0x7FFF_FFFFu;
        return a < 0x7F80_0000u && a > amax ? a : amax;
    }

    /// <summary>Step 2 of the rule from the amax's bits (finite, non-negative).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float ScaleOf(uint absMaxBits, EpDispatchQuantization recipe)
    {
        uint bits = BitConverter.SingleToUInt32Bits(BitConverter.UInt32BitsToSingle(absMaxBits) / Float8E4M3.MaxValue);
        if (bits < 0x0080_0000u) bits = 0x0080_0000u;
        if (recipe != EpDispatchQuantization.Float8E4M3 && (bits & 0x007F_FFFFu) != 0) bits = (bits & 0x7F80_0000u) + 0x0080_0000u;
        return BitConverter.UInt32BitsToSingle(bits);
    }
}
