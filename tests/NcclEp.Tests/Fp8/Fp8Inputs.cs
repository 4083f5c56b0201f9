using System;
using System.Runtime.InteropServices;

namespace NcclEp.Tests.Fp8;

/// <summary>
/// One rank's routing and token rows for the FP8 tests. Each 128-channel group of a row is of one kind, so every
/// case the quantization rule names occurs: ordinary values, all zeros (with -0), a NaN, values in the subnormal range,
/// huge values with ±infinity, a wide range (E4M3 subnormal and zero codes), exact midpoints between codes (amax 448,
/// so the scale is 1), and values whose quotient lands just above 448.
/// </summary>
internal sealed class Fp8Inputs
{
    public const int Kinds = 8;

    public Fp8Inputs(in EpConfig c, int rank, int tokens, int seed)
    {
        var random = new Random(seed);
        Tokens = tokens;
        Ids = new int[tokens * c.TopK];
        Weights = new float[tokens * c.TopK];
        for (int t = 0; t < tokens; t++)
        {
            for (int k = 0; k < c.TopK; k++)
            {
                int e;
                do { e = random.Next(c.NumExperts); } while (Array.IndexOf(Ids, e, t * c.TopK, k) >= 0);
                Ids[(t * c.TopK) + k] = random.Next(8) == 0 ? -1 : e;
                Weights[(t * c.TopK) + k] = 0.125f + (random.Next(8) / 8f);
            }
        }
        Values = new float[tokens * c.Hidden];
        int groups = c.Hidden / EpQuantization.GroupSize;
        for (int t = 0; t < tokens; t++)
        {
            for (int g = 0; g < groups; g++)
            {
                int kind = (rank + (3 * t) + g) % Kinds;
                FillGroup(Values.AsSpan((t * c.Hidden) + (g * EpQuantization.GroupSize), EpQuantization.GroupSize), kind, c.DataType, random);
            }
        }
        Bytes = ToBytes(Values, c.DataType);
    }

    public int Tokens { get; }
    public int[] Ids { get; }
    public float[] Weights { get; }

    /// <summary>The token rows as the kernels read them (bf16 values widened exactly).</summary>
    public float[] Values { get; }

    /// <summary>The token rows in the configuration's element type.</summary>
    public byte[] Bytes { get; }

    public ReadOnlySpan<float> Row(int token, int hidden) => Values.AsSpan(token * hidden, hidden);

    private static void FillGroup(Span<float> group, int kind, EpDataType type, Random random)
    {
        for (int i = 0; i < group.Length; i++)
        {
            float sign = random.Next(2) == 0 ? 1 : -1;
            group[i] = kind switch
            {
                1 => i % 3 == 0 ? -0f : 0f,
                3 => sign * MathF.ScaleB(1 + random.NextSingle(), random.Next(type == EpDataType.Float32 ? -149 : -133, -118)),
                4 => sign * MathF.ScaleB(1 + random.NextSingle(), random.Next(120, 128)),
                5 => sign * MathF.ScaleB(1 + random.NextSingle(), random.Next(-16, 2)),
                6 => sign * Midpoint(random),
                _ => sign * MathF.ScaleB(1 + random.NextSingle(), random.Next(-10, 4)),
            };
        }
        switch (kind)
        {
            case 2:
                group[random.Next(group.Length)] = float.NaN;
                break;
            case 4:
                group[0] = float.PositiveInfinity;
                group[group.Length - 1] = float.NegativeInfinity;
                break;
            case 5:
                group[random.Next(group.Length)] = -448f * 4;
                break;
            case 6:
                group[random.Next(group.Length)] = 448f;  // scale 1 in every recipe: the midpoints stay midpoints
                break;
        }
        if (type == EpDataType.BFloat16)
        {
            for (int i = 0; i < group.Length; i++) group[i] = BFloat16.FromSingle(group[i]).ToSingle();
        }
    }

    /// <summary>The value halfway between two neighbouring E4M3 codes (exact in bf16: 4 significant bits).</summary>
    private static float Midpoint(Random random)
    {
        int code = random.Next(0x7E);
        return (float)((E4M3Reference.Value(code) + E4M3Reference.Value(code + 1)) / 2);
    }

    private static byte[] ToBytes(float[] values, EpDataType type)
    {
        if (type == EpDataType.Float32) return MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        var bits = new ushort[values.Length];
        for (int i = 0; i < values.Length; i++) bits[i] = BFloat16.FromSingle(values[i]).Bits;
        return MemoryMarshal.AsBytes(bits.AsSpan()).ToArray();
    }
}
