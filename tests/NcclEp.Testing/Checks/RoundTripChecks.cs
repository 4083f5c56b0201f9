using System;
using System.Linq;

namespace NcclEp.Testing;

/// <summary>Bit-exact comparisons of one rank's outputs with the reference; each failure names row, element and bits.</summary>
public static class RoundTripChecks
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

    /// <summary>
    /// Counts, offsets, total, the (expert, source) offsets, source info of every row, and the received top-k
    /// (per-rank layouts) or the output row of every received message's slot (expert-major).
    /// </summary>
    public static void Metadata(string phase, EpConfig c, HandleSnapshot got, ReferenceModel model, ExpectedReceive expected, int rank)
    {
        Throw(ReceiveChecks.Counts(phase, expected, got.RankCounts, got.ExpertCounts, got.ExpertOffsets, got.Total[0]));
        Throw(ReceiveChecks.Same(phase, "recvSourceOffsets", model.SourceOffsets(rank), got.SourceOffsets));
        if (c.Layout == EpLayout.ExpertMajor)
            Throw(ReceiveChecks.MessageRows(phase, model.MessageRows(rank), got.MessageRows, c.MaxTokensPerRank, c.TopK));
        int k = c.TopK;
        foreach (ExpectedRow row in expected.Rows)
        {
            long at = row.Row * 3;
            Throw(ReceiveChecks.SourceInfo(phase, c, row, got.SourceInfo[at], got.SourceInfo[at + 1], got.SourceInfo[at + 2]));
            if (c.Layout == EpLayout.ExpertMajor) continue;
            Throw(ReceiveChecks.TopK(phase, model, row, got.TopKIds.AsSpan((int)(row.Row * k), k), got.TopKWeights.AsSpan((int)(row.Row * k), k)));
        }
    }

    private static void Throw(string? mismatch)
    {
        if (mismatch is not null) Fail(mismatch);
    }

    public static void Fail(string message) => throw new CheckFailedException(message);
}
