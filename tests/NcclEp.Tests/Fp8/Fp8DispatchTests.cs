using System;
using System.Linq;
using Xunit;

namespace NcclEp.Tests.Fp8;

/// <summary>
/// FP8 dispatch on the Host backend, every layout of both modes, every recipe, bf16 and fp32 token rows: each received
/// row and its scales equal <see cref="E4M3Reference"/> applied to the source token's row, bit for bit, at the place
/// the source info gives (padding rows: zeros with the scales of a zero row); nothing outside the scales' entries is
/// written; and counts, source info, the combine and both backward passes after it are those of the unquantized
/// dispatch of the same routing.
/// </summary>
public class Fp8DispatchTests
{
    private const int Experts = 12, TopK = 3, Tokens = 7;

    public static TheoryData<EpMode, EpLayout, EpDispatchQuantization, EpDataType, int> Cases()
    {
        var data = new TheoryData<EpMode, EpLayout, EpDispatchQuantization, EpDataType, int>();
        (EpMode, EpLayout)[] layouts =
            [(EpMode.LowLatency, EpLayout.ExpertMajor), (EpMode.LowLatency, EpLayout.RankMajor), (EpMode.HighThroughput, EpLayout.Flat), (EpMode.HighThroughput, EpLayout.ExpertMajor)];
        EpDispatchQuantization[] recipes = [EpDispatchQuantization.Float8E4M3, EpDispatchQuantization.Float8E4M3PowerOfTwo, EpDispatchQuantization.Float8E4M3UE8M0];
        foreach ((EpMode mode, EpLayout layout) in layouts)
        foreach (EpDispatchQuantization recipe in recipes)
        foreach (EpDataType type in new[] { EpDataType.BFloat16, EpDataType.Float32 })
            data.Add(mode, layout, recipe, type, 1024);
        data.Add(EpMode.LowLatency, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3, EpDataType.BFloat16, 640);
        data.Add(EpMode.HighThroughput, EpLayout.Flat, EpDispatchQuantization.Float8E4M3PowerOfTwo, EpDataType.BFloat16, 640);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Received_rows_and_scales_are_the_reference_quantization_of_their_source_rows(
        EpMode mode, EpLayout layout, EpDispatchQuantization recipe, EpDataType type, int hidden)
    {
        int world = mode == EpMode.LowLatency ? 2 : 3;
        var plain = new EpConfig(mode, Experts, hidden, TopK, Tokens, layout, type,
            ExpertAlignment: mode == EpMode.HighThroughput && layout == EpLayout.ExpertMajor ? 4 : 1);
        EpConfig config = plain with { DispatchQuantization = recipe };
        var inputs = new Fp8Inputs[world];
        for (int r = 0; r < world; r++) inputs[r] = new Fp8Inputs(config, r, r == world - 1 ? Tokens - 1 : Tokens, seed: (100 * (int)recipe) + r);

        Fp8RankResult[] quantized = Fp8Step.Run(config, world, inputs);
        Fp8RankResult[] unquantized = Fp8Step.Run(plain, world, inputs);

        var coverage = new Coverage();
        for (int r = 0; r < world; r++)
        {
            AssertSameRouting(unquantized[r], quantized[r], r);
            CheckRows(config, world, quantized[r], inputs, coverage, r);
            AssertSlackUntouched(config, world, quantized[r], r);
        }
        // Every case of the rule occurred at least once (the inputs are built for it; a change to them must keep it so).
        Assert.True(coverage.Rows > 0, "no row was received");
        Assert.True(coverage.NaN > 0, "no NaN code");
        Assert.True(coverage.Saturated > 0, "no value saturated at ±448");
        Assert.True(coverage.Subnormal > 0, "no E4M3 subnormal code");
        Assert.True(coverage.Ties > 0, "no quotient exactly between two codes");
        Assert.True(coverage.FloorScales > 0, "no group at the smallest scale (all zeros or tiny values)");
        if (layout == EpLayout.ExpertMajor && mode == EpMode.HighThroughput) Assert.True(coverage.Padding > 0, "no padding row");
    }

    /// <summary>
    /// Expert-major with per-rank combine partials (<see cref="EpCombineReduction.PerRank"/>): the partials weigh the
    /// message weights that the dispatch keeps, which an FP8 dispatch must keep as well — the combine and both backward
    /// passes after it equal those after the unquantized dispatch, and they are the partials' bits, not the per-slot ones.
    /// </summary>
    [Theory]
    [InlineData(EpMode.LowLatency, EpDispatchQuantization.Float8E4M3)]
    [InlineData(EpMode.HighThroughput, EpDispatchQuantization.Float8E4M3UE8M0)]
    public void Per_rank_partials_after_an_FP8_dispatch_equal_those_after_the_unquantized_dispatch(EpMode mode, EpDispatchQuantization recipe)
    {
        int world = mode == EpMode.LowLatency ? 2 : 3;
        var perSlot = new EpConfig(mode, Experts, 1024, TopK, Tokens, EpLayout.ExpertMajor, EpDataType.BFloat16,
            ExpertAlignment: mode == EpMode.HighThroughput ? 4 : 1);
        EpConfig plain = perSlot with { CombineReduction = EpCombineReduction.PerRank };
        EpConfig config = plain with { DispatchQuantization = recipe };
        var inputs = new Fp8Inputs[world];
        for (int r = 0; r < world; r++) inputs[r] = new Fp8Inputs(config, r, Tokens, seed: 700 + r);

        Fp8RankResult[] quantized = Fp8Step.Run(config, world, inputs);
        Fp8RankResult[] unquantized = Fp8Step.Run(plain, world, inputs);
        Fp8RankResult[] slots = Fp8Step.Run(perSlot, world, inputs);
        for (int r = 0; r < world; r++) AssertSameRouting(unquantized[r], quantized[r], r);
        Assert.Contains(Enumerable.Range(0, world), r => !slots[r].Combined.AsSpan().SequenceEqual(unquantized[r].Combined));
    }

    private static void AssertSameRouting(Fp8RankResult plain, Fp8RankResult fp8, int rank)
    {
        Assert.Equal(plain.RankCounts, fp8.RankCounts);
        Assert.Equal(plain.ExpertCounts, fp8.ExpertCounts);
        Assert.Equal(plain.ExpertOffsets, fp8.ExpertOffsets);
        Assert.Equal(plain.Total, fp8.Total);
        Assert.Equal(plain.ValidRows, fp8.ValidRows);
        foreach ((long first, long count) in plain.ValidRows)
        {
            for (long i = first; i < first + count; i++) Assert.True(plain.SourceInfo[i] == fp8.SourceInfo[i], $"rank {rank}: source info of row {i}");
        }
        Assert.Equal(plain.RecvTopKIds, fp8.RecvTopKIds);
        Assert.True(plain.Combined.AsSpan().SequenceEqual(fp8.Combined), $"rank {rank}: the combine after the FP8 dispatch differs");
        Assert.True(plain.GradX.AsSpan().SequenceEqual(fp8.GradX), $"rank {rank}: Dispatch backward after the FP8 dispatch differs");
        int rowBytes = plain.GradRows.Length / Math.Max(1, plain.SourceInfo.Length);
        foreach ((long first, long count) in plain.ValidRows)
        {
            Assert.True(plain.GradRows.AsSpan((int)(first * rowBytes), (int)(count * rowBytes)).SequenceEqual(fp8.GradRows.AsSpan((int)(first * rowBytes), (int)(count * rowBytes))),
                $"rank {rank}: Combine backward rows [{first}, {first + count}) differ after the FP8 dispatch");
        }
    }

    private static void CheckRows(in EpConfig c, int world, Fp8RankResult result, Fp8Inputs[] inputs, Coverage coverage, int rank)
    {
        var geometry = new ScalesGeometry(c, world);
        int hidden = c.Hidden, groups = hidden / EpQuantization.GroupSize;
        var expectedRow = new byte[hidden];
        var expectedScales = new float[groups];
        foreach ((long first, long count) in result.ValidRows)
        {
            for (long i = first; i < first + count; i++)
            {
                EpSourceInfo info = result.SourceInfo[i];
                if (info.Rank < 0)
                {
                    coverage.Padding++;
                    Array.Clear(expectedRow);
                    Array.Fill(expectedScales, EpQuantization.SmallestScale);
                }
                else
                {
                    coverage.Rows++;
                    ReadOnlySpan<float> row = inputs[info.Rank].Row(info.Token, hidden);
                    for (int g = 0; g < groups; g++)
                    {
                        ReadOnlySpan<float> group = row.Slice(g * EpQuantization.GroupSize, EpQuantization.GroupSize);
                        float scale = expectedScales[g] = E4M3Reference.Scale(group, c.DispatchQuantization);
                        for (int e = 0; e < group.Length; e++)
                            expectedRow[(g * EpQuantization.GroupSize) + e] = coverage.Count(group[e], scale);
                        if (scale == EpQuantization.SmallestScale) coverage.FloorScales++;
                    }
                }
                ReadOnlySpan<byte> got = result.Received.AsSpan((int)(i * hidden), hidden);
                int at = got.CommonPrefixLength(expectedRow);
                Assert.True(at == hidden, $"rank {rank}, row {i} ({info}): channel {at} is 0x{(at < hidden ? got[at] : 0):X2}, the reference gives 0x{(at < hidden ? expectedRow[at] : 0):X2}");
                (long block, long index) = Split(c, world, i);
                for (int column = 0; column < c.ScaleColumns; column++)
                {
                    uint actual = result.Scales[geometry.Index(block, column, index)], expected = ScaleWord(c, expectedScales, column);
                    Assert.True(actual == expected, $"rank {rank}, row {i} ({info}): scale column {column} is 0x{actual:X8}, the reference gives 0x{expected:X8}");
                }
            }
        }
    }

    /// <summary>Entries of the scales buffer that belong to no (block, column, row) of the tensor keep the sentinel.</summary>
    private static void AssertSlackUntouched(in EpConfig c, int world, Fp8RankResult result, int rank)
    {
        var geometry = new ScalesGeometry(c, world);
        var inTensor = new bool[result.Scales.Length];
        for (long b = 0; b < geometry.Blocks; b++)
            for (int column = 0; column < geometry.Columns; column++)
                for (long row = 0; row < geometry.Rows; row++) inTensor[geometry.Index(b, column, row)] = true;
        for (int i = 0; i < inTensor.Length; i++)
        {
            if (!inTensor[i]) Assert.True(result.Scales[i] == Fp8Step.Sentinel, $"rank {rank}: scales element {i}, outside the tensor's entries, was written");
        }
    }

    private static uint ScaleWord(in EpConfig c, float[] scales, int column)
    {
        if (c.DispatchQuantization != EpDispatchQuantization.Float8E4M3UE8M0) return BitConverter.SingleToUInt32Bits(scales[column]);
        uint word = 0;
        for (int j = 0; j < 4; j++) word |= (uint)E4M3Reference.Exponent(scales[(4 * column) + j]) << (8 * j);
        return word;
    }

    private static (long Block, long Row) Split(in EpConfig c, int world, long index)
    {
        if (c.Mode == EpMode.HighThroughput) return (0, index);
        long rows = c.Layout == EpLayout.ExpertMajor ? (long)world * c.MaxTokensPerRank : c.MaxTokensPerRank;
        return (index / rows, index % rows);
    }

    /// <summary>How often each case of the rule came up.</summary>
    private sealed class Coverage
    {
        public int Rows, Padding, NaN, Saturated, Subnormal, Ties, FloorScales;

        /// <summary>The reference code of <paramref name="x"/>, counting the cases it falls in.</summary>
        public byte Count(float x, float scale)
        {
            byte code = E4M3Reference.Quantize(x, scale);
            float y = (float)((double)x / scale);
            if (float.IsNaN(x)) NaN++;
            if (!float.IsNaN(y) && Math.Abs(y) > 448) Saturated++;
            if ((code & 0x78) == 0 && (code & 7) != 0) Subnormal++;
            if (IsMidpoint(Math.Abs(y))) Ties++;
            return code;
        }

        private static bool IsMidpoint(float y) =>
            Enumerable.Range(0, 0x7E).Any(code => y == (E4M3Reference.Value(code) + E4M3Reference.Value(code + 1)) / 2);
    }
}
