using System;
using System.Collections.Generic;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Tests.TestSupport;

/// <summary>
/// The experts every check runs (<see cref="AffineExperts"/>): distinct for every expert id that matters, and the
/// row functions (SIMD lanes) give exactly the bits of the scalar definition, operation by operation.
/// </summary>
public class AffineExpertsTests
{
    [Fact]
    public void No_two_of_the_first_1024_experts_share_slope_and_offset()
    {
        var seen = new HashSet<(float, float)>();
        for (int e = 0; e < 1024; e++) Assert.True(seen.Add((AffineExperts.A(e), AffineExperts.B(e))), $"expert {e} repeats an earlier (a, b)");
    }

    [Fact]
    public void Operation_experts_differ_for_every_operation_of_a_key_and_every_key_of_an_operation()
    {
        var byKey = new bool[1024];
        var byOperation = new bool[1024];
        for (int a = 0; a < 1024; a++)
        {
            Array.Clear(byKey);
            Array.Clear(byOperation);
            for (int b = 0; b < 1024; b++)
            {
                int sameKey = AffineExperts.OfOperation(op: b, key: a), sameOp = AffineExperts.OfOperation(op: a, key: b);
                if (byKey[sameKey]) Assert.Fail($"key {a}: operation {b} gets expert {sameKey}, as an earlier operation did");
                if (byOperation[sameOp]) Assert.Fail($"operation {a}: key {b} gets expert {sameOp}, as an earlier key did");
                byKey[sameKey] = byOperation[sameOp] = true;
            }
        }
    }

    [Fact]
    public void Experts_of_one_token_give_different_rows()
    {
        var x = new byte[512 * 2];
        BatchGenerator.FillRows(new Random(7), x, EpDataType.BFloat16);
        var rows = new HashSet<string>();
        for (int e = 0; e < 256; e++)
        {
            var y = new byte[x.Length];
            AffineExperts.ExpertRow(EpDataType.BFloat16, EpPass.Forward, e, x, y, 512);
            Assert.True(rows.Add(Convert.ToHexString(y)), $"expert {e} gives the row an earlier expert gives");
        }
    }

    [Theory]
    [InlineData(EpDataType.BFloat16)]
    [InlineData(EpDataType.Float32)]
    public void Row_functions_give_the_bits_of_the_scalar_definition(EpDataType type)
    {
        const int hidden = 640 + 8;  // not a multiple of any SIMD width: the scalar tail runs too
        var rng = new Random(3);
        var x = new byte[hidden * type.SizeInBytes()];
        BatchGenerator.FillRows(rng, x, type);
        // Special values ride along: NaNs of both signs, infinities, zeros, the largest finite values.
        float[] special = [float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, float.MaxValue, float.MinValue, BitConverter.UInt32BitsToSingle(0x7F800001)];
        for (int i = 0; i < special.Length; i++) Numerics.WriteElement(x, i * 37, type, Numerics.Encode(special[i], type));
        int[] ids = [5, -1, 70, 1030, 3];
        float[] weights = [0.75f, 9f, -1.5f, 0.125f, 3.25f];
        var y = new byte[x.Length];
        foreach (EpPass pass in new[] { EpPass.Forward, EpPass.Backward })
        {
            AffineExperts.ExpertRow(type, pass, 1030, x, y, hidden);
            for (int i = 0; i < hidden; i++)
            {
                uint want = Numerics.Encode(AffineExperts.Apply(pass, 1030, Numerics.DecodeAt(x, i, type)), type);
                Assert.True(want == Numerics.ElementBits(y, i, type), $"{pass} expert row element {i}: expected 0x{want:X}, got 0x{Numerics.ElementBits(y, i, type):X}");
            }

            AffineExperts.RankRow(type, pass, ids, weights, firstLocal: 0, localExperts: 72, x, y, hidden);
            for (int i = 0; i < hidden; i++)
            {
                float v = Numerics.DecodeAt(x, i, type), acc = 0f;
                foreach (int k in new[] { 0, 2, 4 })  // slots ascending whose expert is in [0, 72)
                {
                    float term = weights[k] * AffineExperts.Apply(pass, ids[k], v);
                    acc += term;
                }
                uint want = Numerics.Encode(acc, type);
                Assert.True(want == Numerics.ElementBits(y, i, type), $"{pass} per-rank row element {i}: expected 0x{want:X}, got 0x{Numerics.ElementBits(y, i, type):X}");
            }
        }
    }

    [Fact]
    public void Simd_bf16_rounding_equals_the_scalar_rounding_for_any_bits()
    {
        var rng = new Random(5);
        var values = new float[4099];
        for (int i = 0; i < values.Length; i++) values[i] = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32));
        values[0] = BitConverter.UInt32BitsToSingle(0x3F808000);  // a tie that rounds to even (down)
        values[1] = BitConverter.UInt32BitsToSingle(0x3F818000);  // a tie that rounds up
        values[2] = BitConverter.UInt32BitsToSingle(0x7F7FFFFF);  // rounds to infinity
        var rounded = (float[])values.Clone();
        RowMath.Round(rounded, EpDataType.BFloat16);
        var encoded = new byte[values.Length * 2];
        RowMath.Encode(values, EpDataType.BFloat16, encoded);
        for (int i = 0; i < values.Length; i++)
        {
            uint want = Numerics.RoundToBf16Bits(values[i]);
            Assert.Equal(want << 16, BitConverter.SingleToUInt32Bits(rounded[i]));
            Assert.Equal(want, Numerics.ElementBits(encoded, i, EpDataType.BFloat16));
        }
    }
}
