using System;

namespace NcclEp.Tests.Fp8;

/// <summary>
/// The FP8 quantization written from its definitions, not from the library: the 256 E4M3 codes decoded from the format
/// (sign, 4-bit exponent biased by 7, 3-bit mantissa, exponent 0 subnormal, S.1111.111 NaN), the nearest code found by
/// searching them (ties to the even code, beyond 448 the largest), and the scale rule of docs/fp8.md computed in double
/// (double then fp32 is the correctly rounded fp32 quotient: 53 ≥ 2·24 + 2 bits).
/// </summary>
internal static class E4M3Reference
{
    private static readonly double[] s_values = BuildValues();

    /// <summary>The value of <paramref name="code"/>, NaN for the two NaN codes.</summary>
    public static double Value(int code) => s_values[code];

    /// <summary>The E4M3 code nearest to <paramref name="y"/> (ties to even, saturating, NaN → 0x7F, sign kept).</summary>
    public static byte Nearest(float y)
    {
        if (float.IsNaN(y)) return 0x7F;
        int sign = float.IsNegative(y) ? 0x80 : 0;
        double magnitude = Math.Abs((double)y);
        int best = 0;
        if (double.IsPositiveInfinity(magnitude))
        {
            best = 0x7E;
        }
        else
        {
            double bestDistance = double.PositiveInfinity;
            for (int code = 0; code <= 0x7E; code++)
            {
                double distance = Math.Abs(s_values[code] - magnitude);
                if (distance < bestDistance || (distance == bestDistance && (code & 1) == 0))
                {
                    best = code;
                    bestDistance = distance;
                }
            }
        }
        return (byte)(sign | best);
    }

    /// <summary>The group's scale under <paramref name="recipe"/> (for UE8M0 the power of two its byte stands for).</summary>
    public static float Scale(ReadOnlySpan<float> group, EpDispatchQuantization recipe)
    {
        double amax = 0;
        foreach (float x in group)
        {
            if (float.IsFinite(x)) amax = Math.Max(amax, Math.Abs((double)x));
        }
        double floor = Math.Pow(2, -126);
        double scale = Math.Max((float)(amax / 448.0), floor);
        if (recipe == EpDispatchQuantization.Float8E4M3) return (float)scale;
        double power = floor;
        while (power < scale) power *= 2;
        return (float)power;
    }

    /// <summary>The UE8M0 byte of a power-of-two scale: 127 + its exponent.</summary>
    public static byte Exponent(float powerOfTwo)
    {
        int exponent = 0;
        for (double p = powerOfTwo; p > 1; p /= 2) exponent++;
        for (double p = powerOfTwo; p < 1; p *= 2) exponent--;
        return (byte)(127 + exponent);
    }

    /// <summary>One element quantized with a group's scale: the fp32 quotient, then the nearest code.</summary>
    public static byte Quantize(float x, float scale) => Nearest((float)((double)x / scale));

    private static double[] BuildValues()
    {
        var values = new double[256];
        for (int code = 0; code < 256; code++)
        {
            int exponent = (code >> 3) & 0xF, mantissa = code & 7;
            double magnitude = exponent == 15 && mantissa == 7 ? double.NaN
                : exponent == 0 ? mantissa / 8.0 * Math.Pow(2, -6)
                : (1 + (mantissa / 8.0)) * Math.Pow(2, exponent - 7);
            values[code] = (code & 0x80) != 0 ? -magnitude : magnitude;
        }
        return values;
    }
}
