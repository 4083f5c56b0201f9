using System;

namespace NcclEp.Testing;

/// <summary>
/// Comparisons of one rank's dispatch results with <see cref="ReferenceModel"/>, shared by the CPU round trips and the
/// bench's validation: each returns null when they agree, else a message naming the output, where, and both values.
/// </summary>
public static class ReceiveChecks
{
    /// <summary>The receive counts: per source rank, per local expert, the expert-major segment starts and the total.</summary>
    public static string? Counts(string phase, ExpectedReceive expected, ReadOnlySpan<int> rankCounts, ReadOnlySpan<int> expertCounts,
        ReadOnlySpan<int> expertOffsets, int total) =>
        Same(phase, "ReceivedRankCounts", expected.RankCounts, rankCounts)
        ?? Same(phase, "ReceivedExpertCounts", expected.ExpertCounts, expertCounts)
        ?? (expected.ExpertOffsets is null ? null : Same(phase, "ReceivedExpertOffsets", expected.ExpertOffsets, expertOffsets))
        ?? Same(phase, "ReceivedTotal", [expected.Total], [total]);

    /// <summary>The source info (rank, token, slot) the handle holds for layout row <c>row.Row</c>.</summary>
    public static string? SourceInfo(string phase, in EpConfig c, ExpectedRow row, int rank, int token, int slot)
    {
        if ((rank, token, slot) == (row.Rank, row.Token, row.Slot)) return null;
        return $"{phase}: ReceivedSourceInfo row {row.Row}: expected ({row.Rank}, {row.Token}, {row.Slot}), got ({rank}, {token}, {slot}); {Order(c)}";
    }

    /// <summary>The top-k ids and weights beside a per-rank layout row: those of its source token, bit for bit.</summary>
    public static string? TopK(string phase, ReferenceModel model, ExpectedRow row, ReadOnlySpan<int> ids, ReadOnlySpan<float> weights)
    {
        for (int slot = 0; slot < model.Config.TopK; slot++)
        {
            int wantId = model.Id(row.Rank, row.Token, slot);
            float wantW = model.Weight(row.Rank, row.Token, slot);
            if (wantId != ids[slot] || BitConverter.SingleToInt32Bits(wantW) != BitConverter.SingleToInt32Bits(weights[slot]))
                return $"{phase}: received top-k of row {row.Row} slot {slot}: expected ({wantId}, {wantW}), got ({ids[slot]}, {weights[slot]})";
        }
        return null;
    }

    /// <summary>A row's element bits equal the expected ones.</summary>
    public static string? RowBits(string phase, EpDataType type, ExpectedRow row, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        int at = expected.CommonPrefixLength(actual);
        if (at == expected.Length) return null;
        int size = type.SizeInBytes(), e = at / size;
        return $"{phase}: layout row {row.Row} (from rank {row.Rank}, token {row.Token}, slot {row.Slot}) element {e}: " +
            $"expected 0x{Numerics.ElementBits(expected, e, type):X}, got 0x{Numerics.ElementBits(actual, e, type):X}";
    }

    /// <summary>One token's row of a home output (combine output, token gradient) equals the reference's element bits.</summary>
    public static string? TokenRow(string phase, int token, ReadOnlySpan<uint> expected, ReadOnlySpan<byte> actual, EpDataType type)
    {
        for (int e = 0; e < expected.Length; e++)
        {
            uint got = Numerics.ElementBits(actual, e, type);
            if (got != expected[e])
            {
                return $"{phase}: token {token} element {e}: expected 0x{expected[e]:X} ({Numerics.Decode(expected[e], type):G6}), " +
                    $"got 0x{got:X} ({Numerics.Decode(got, type):G6})";
            }
        }
        return null;
    }

    /// <summary>
    /// Expert-major: the handle's recvMessageRows (<paramref name="actual"/>, [W][M][K]) for every message received,
    /// against <see cref="ReferenceModel.MessageRows"/> (per source: [messages × K]); entries past the messages are not read.
    /// </summary>
    public static string? MessageRows(string phase, int[][] expected, ReadOnlySpan<int> actual, int maxTokens, int topK)
    {
        for (int s = 0; s < expected.Length; s++)
        {
            for (int j = 0; j < expected[s].Length; j++)
            {
                int got = actual[(s * maxTokens * topK) + j];
                if (got != expected[s][j])
                    return $"{phase}: recvMessageRows[source {s}, message {j / topK}, slot {j % topK}]: expected {expected[s][j]}, got {got} (the dispatch-output row of that slot, -1 if its expert is elsewhere)";
            }
        }
        return null;
    }

    /// <summary>Where the layout puts each row (said with a source-info mismatch).</summary>
    public static string Order(in EpConfig c) => c.Layout switch
    {
        EpLayout.ExpertMajor => "each expert's rows hold its (token, slot) pairs ordered by source rank, then token",
        EpLayout.RankMajor => "row s·MaxTokensPerRank + i holds the i-th token source s sent here, in token order",
        _ => "rows are grouped by source rank, each source's tokens in token order",
    };

    public static string? Same(string phase, string what, ReadOnlySpan<int> expected, ReadOnlySpan<int> actual)
    {
        if (expected.SequenceEqual(actual)) return null;
        return $"{phase}: {what}: expected [{string.Join(", ", expected.ToArray())}], got [{string.Join(", ", actual.ToArray())}]";
    }
}
