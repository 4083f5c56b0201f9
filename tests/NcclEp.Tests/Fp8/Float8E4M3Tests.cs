using System;
using System.Collections.Generic;
using Xunit;

namespace NcclEp.Tests.Fp8;

/// <summary>The library's E4M3 conversion and scale rule against <see cref="E4M3Reference"/>.</summary>
public class Float8E4M3Tests
{
    [Fact]
    public void Every_code_decodes_to_the_value_of_its_definition()
    {
        for (int code = 0; code < 256; code++)
        {
            double expected = E4M3Reference.Value(code);
            float value = new Float8E4M3((byte)code).ToSingle();
            if (double.IsNaN(expected)) Assert.True(float.IsNaN(value), $"code 0x{code:X2}");
            else Assert.Equal(expected, value);
        }
        Assert.Equal(448f, new Float8E4M3(0x7E).ToSingle());
        Assert.Equal(MathF.ScaleB(1, -9), new Float8E4M3(0x01).ToSingle());
    }

    [Fact]
    public void Every_bf16_value_rounds_to_the_nearest_code_with_ties_to_even()
    {
        for (int bits = 0; bits < 65536; bits++)
        {
            float x = new BFloat16((ushort)bits).ToSingle();
            AssertRoundsLikeReference(x);
        }
    }

    [Fact]
    public void Midpoints_between_codes_and_their_neighbours_round_like_the_reference()
    {
        int ties = 0;
        for (int code = 0; code < 0x7E; code++)
        {
            // The midpoint between two neighbouring codes is exact in fp32; one ulp either side must go either way.
            float mid = (float)((E4M3Reference.Value(code) + E4M3Reference.Value(code + 1)) / 2);
            foreach (float x in new[] { mid, MathF.BitDecrement(mid), MathF.BitIncrement(mid), -mid })
            {
                AssertRoundsLikeReference(x);
            }
            Assert.Equal((code & 1) == 0 ? code : code + 1, Float8E4M3.RoundBits(mid));
            ties++;
        }
        Assert.Equal(126, ties);
    }

    [Fact]
    public void Saturation_NaN_zero_and_subnormals_follow_the_rule()
    {
        Assert.Equal(0x7E, Float8E4M3.RoundBits(448f));
        Assert.Equal(0x7E, Float8E4M3.RoundBits(464f));               // the midpoint to a 480 that E4M3 does not have
        Assert.Equal(0x7E, Float8E4M3.RoundBits(1e30f));
        Assert.Equal(0x7E, Float8E4M3.RoundBits(float.PositiveInfinity));
        Assert.Equal(0xFE, Float8E4M3.RoundBits(float.NegativeInfinity));
        Assert.Equal(0x7F, Float8E4M3.RoundBits(float.NaN));
        Assert.Equal(0x7F, Float8E4M3.RoundBits(-float.NaN));
        Assert.Equal(0x00, Float8E4M3.RoundBits(0f));
        Assert.Equal(0x80, Float8E4M3.RoundBits(-0f));
        Assert.Equal(0x80, Float8E4M3.RoundBits(-1e-30f));            // rounds to zero, keeps its sign
        Assert.Equal(0x00, Float8E4M3.RoundBits(MathF.ScaleB(1, -10))); // half the smallest subnormal: ties to 0
        Assert.Equal(0x02, Float8E4M3.RoundBits(3 * MathF.ScaleB(1, -10)));
        Assert.Equal(0x08, Float8E4M3.RoundBits(MathF.ScaleB(1, -6)));
        Assert.True(new Float8E4M3(0xFF).IsNaN);
    }

    [Fact]
    public void Random_floats_of_every_magnitude_round_like_the_reference()
    {
        var random = new Random(22);
        for (int i = 0; i < 200_000; i++)
        {
            // Exponents from far below the subnormals to far above 448, random mantissas and signs.
            float x = MathF.ScaleB(1 + random.NextSingle(), random.Next(-30, 20)) * (random.Next(2) == 0 ? 1 : -1);
            AssertRoundsLikeReference(x);
        }
        for (int i = 0; i < 100_000; i++) AssertRoundsLikeReference(BitConverter.Int32BitsToSingle(random.Next(int.MinValue, int.MaxValue)));
    }

    public static TheoryData<EpDispatchQuantization> Recipes() => new()
    {
        EpDispatchQuantization.Float8E4M3, EpDispatchQuantization.Float8E4M3PowerOfTwo, EpDispatchQuantization.Float8E4M3UE8M0,
    };

    [Theory]
    [MemberData(nameof(Recipes))]
    public void Scales_follow_the_rule_for_amax_of_every_magnitude(EpDispatchQuantization recipe)
    {
        var random = new Random((int)recipe);
        var amaxes = new List<float> { 0f, float.Epsilon, 1e-40f, 1e-38f, 448f * MathF.ScaleB(1, -126), 1f, 448f, 3.38e38f, float.MaxValue };
        for (int i = 0; i < 20_000; i++) amaxes.Add(MathF.ScaleB(1 + random.NextSingle(), random.Next(-149, 128)));
        foreach (float amax in amaxes)
        {
            float expected = E4M3Reference.Scale(new[] { amax, -amax / 2 }, recipe);
            float actual = EpQuantization.Scale(amax, recipe);
            Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual),
                $"{recipe}: amax {amax:R}: scale {actual:R}, the rule gives {expected:R}");
            if (recipe != EpDispatchQuantization.Float8E4M3)
                Assert.Equal(E4M3Reference.Exponent(expected), EpQuantization.ExponentOf(actual));
        }
        Assert.Equal(EpQuantization.SmallestScale, EpQuantization.Scale(0f, recipe));
    }

    [Theory]
    [MemberData(nameof(Recipes))]
    public void A_group_with_NaN_and_infinity_is_scaled_by_its_finite_values(EpDispatchQuantization recipe)
    {
        float[] group = [1f, -3f, float.NaN, float.PositiveInfinity, 0.25f, float.NegativeInfinity];
        var quantized = new Float8E4M3[group.Length];
        float scale = EpQuantization.QuantizeGroup(group, quantized, recipe);
        Assert.Equal(E4M3Reference.Scale([1f, -3f, 0.25f], recipe), scale);
        for (int i = 0; i < group.Length; i++) Assert.Equal(E4M3Reference.Quantize(group[i], scale), quantized[i].Bits);
        Assert.Equal(0x7F, quantized[2].Bits);
        Assert.Equal(0x7E, quantized[3].Bits);
        Assert.Equal(0xFE, quantized[5].Bits);
    }

    [Fact]
    public void Packed_UE8M0_words_hold_four_exponents_low_byte_first()
    {
        PackedUE8M0 word = PackedUE8M0.Pack(127, 1, 254, 130);
        Assert.Equal(0x82FE017Fu, word.Bits);
        Assert.Equal(1f, word.Scale(0));
        Assert.Equal(EpQuantization.SmallestScale, word.Scale(1));
        Assert.Equal(MathF.ScaleB(1, 127), word.Scale(2));
        Assert.Equal(8f, word.Scale(3));
        Assert.True(float.IsNaN(PackedUE8M0.ToScale(255)));
        Assert.Throws<ArgumentOutOfRangeException>("index", () => word.Exponent(4));
        Assert.Throws<ArgumentException>("scale", () => EpQuantization.ExponentOf(3f));
    }

    private static void AssertRoundsLikeReference(float x)
    {
        byte expected = E4M3Reference.Nearest(x), actual = Float8E4M3.RoundBits(x);
        Assert.True(expected == actual, $"{x:R} (0x{BitConverter.SingleToUInt32Bits(x):X8}): 0x{actual:X2}, the reference gives 0x{expected:X2}");
        Assert.Equal(expected, Float8E4M3.FromSingle(x).Bits);
    }
}
