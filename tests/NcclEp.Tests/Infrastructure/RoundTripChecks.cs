using System;
using System.Linq;
using Xunit.Sdk;

namespace NcclEp.Tests.Infrastructure;

/// <summary>Bit-exact comparisons of one rank's outputs with the reference; each failure names row, element and bits.</summary>
internal static class RoundTripChecks
{
    /// <summary>
    /// Every expected row holds the expected bits; every other element of the buffer (rows past the counts,
    /// spare rows, pitch gaps) still holds the poison.
    /// </summary>
    public static void Layout(string phase, RankRig rig, EpBuffer buffer, ExpectedReceive expected,
        Func<ExpectedRow, float[]> value, byte poison)
    {
        EpConfig c = rig.Group.Config;
        ElementArray actual = rig.LayoutScratch;
        actual.DownloadFrom(buffer);
        long pitch = rig.Shape.LayoutPitch;
        var written = new bool[rig.PhysicalRows];
        foreach (ExpectedRow row in expected.Rows)
        {
            long physical = rig.PhysicalRow(row.Row);
            if (written[physical]) Fail($"{phase}: the reference puts two rows at layout row {row.Row}");
            written[physical] = true;
            float[] v = value(row);
            for (int e = 0; e < c.Hidden; e++)
            {
                uint want = Numerics.Encode(v[e], c.DataType), got = actual[(physical * pitch) + e];
                if (got != want)
                    Fail($"{phase}: layout row {row.Row} (from rank {row.Rank}, token {row.Token}, slot {row.Slot}) element {e}: expected 0x{want:X}, got 0x{got:X}");
            }
        }
        uint poisonBits = Numerics.PoisonBits(poison, c.DataType);
        for (long f = 0; f < rig.PhysicalRows; f++)
        {
            long start = written[f] ? c.Hidden : 0;
            long bad = actual.FirstDifferent((f * pitch) + start, pitch - start, poisonBits);
            if (bad >= 0)
                Fail($"{phase}: buffer row {f} (of {rig.PhysicalRows}, spare rows included) element {bad - (f * pitch)} was written (0x{actual[bad]:X}) but the layout leaves it untouched");
        }
    }

    /// <summary>[tokens, hidden] at the home pitch equals <paramref name="expected"/>; gaps and rows past tokens keep the poison.</summary>
    public static void Home(string phase, RankRig rig, EpBuffer buffer, uint[] expected, int tokens, byte poison)
    {
        EpConfig c = rig.Group.Config;
        ElementArray actual = rig.OutScratch;
        actual.DownloadFrom(buffer);
        long pitch = rig.Shape.OutPitch;
        uint poisonBits = Numerics.PoisonBits(poison, c.DataType);
        for (long t = 0; t < c.MaxTokensPerRank; t++)
        {
            for (long e = 0; e < pitch; e++)
            {
                bool inside = t < tokens && e < c.Hidden;
                uint want = inside ? expected[(t * c.Hidden) + e] : poisonBits, got = actual[(t * pitch) + e];
                if (got != want)
                    Fail($"{phase}: token {t} element {e}{(inside ? "" : " (outside the output)")}: expected 0x{want:X}, got 0x{got:X}");
            }
        }
    }

    /// <summary>Counts, offsets, total, source info of every row and (per-rank layouts) the received top-k.</summary>
    public static void Metadata(string phase, EpConfig c, HandleSnapshot got, ReferenceModel model, ExpectedReceive expected)
    {
        Same(phase, "ReceivedRankCounts", expected.RankCounts, got.RankCounts);
        Same(phase, "ReceivedExpertCounts", expected.ExpertCounts, got.ExpertCounts);
        if (expected.ExpertOffsets is not null) Same(phase, "ReceivedExpertOffsets", expected.ExpertOffsets, got.ExpertOffsets);
        Same(phase, "ReceivedTotal", new[] { expected.Total }, got.Total);
        int k = c.TopK;
        foreach (ExpectedRow row in expected.Rows)
        {
            var info = (got.SourceInfo[row.Row * 3], got.SourceInfo[(row.Row * 3) + 1], got.SourceInfo[(row.Row * 3) + 2]);
            if (info != (row.Rank, row.Token, row.Slot))
                Fail($"{phase}: ReceivedSourceInfo row {row.Row}: expected ({row.Rank}, {row.Token}, {row.Slot}), got {info}");
            if (c.Layout == EpLayout.ExpertMajor) continue;
            for (int slot = 0; slot < k; slot++)
            {
                int wantId = model.Id(row.Rank, row.Token, slot), gotId = got.TopkIds[(row.Row * k) + slot];
                float wantW = model.Weight(row.Rank, row.Token, slot), gotW = got.TopkWeights[(row.Row * k) + slot];
                if (wantId != gotId || BitConverter.SingleToInt32Bits(wantW) != BitConverter.SingleToInt32Bits(gotW))
                    Fail($"{phase}: received top-k of row {row.Row} slot {slot}: expected ({wantId}, {wantW}), got ({gotId}, {gotW})");
            }
        }
    }

    private static void Same(string phase, string what, int[] expected, int[] actual)
    {
        if (!expected.SequenceEqual(actual))
            Fail($"{phase}: {what}: expected [{string.Join(", ", expected)}], got [{string.Join(", ", actual)}]");
    }

    public static void Fail(string message) => throw new XunitException(message);
}
