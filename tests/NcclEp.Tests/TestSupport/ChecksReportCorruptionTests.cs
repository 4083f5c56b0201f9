using System;
using System.Collections.Generic;
using System.Linq;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Tests.TestSupport;

/// <summary>The four layouts' finished round trips, made once for every test of the class.</summary>
public sealed class CheckRigs : IDisposable
{
    private readonly Dictionary<EpLayoutKind, CheckRig> _rigs = [];

    internal CheckRig For(EpLayoutKind kind)
    {
        lock (_rigs)
        {
            if (!_rigs.TryGetValue(kind, out CheckRig? rig))
            {
                (EpMode mode, EpLayout layout, int alignment) = kind switch
                {
                    EpLayoutKind.LowLatencyExpertMajor or EpLayoutKind.LowLatencyExpertMajorPartials => (EpMode.LowLatency, EpLayout.ExpertMajor, 1),
                    EpLayoutKind.LowLatencyRankMajor => (EpMode.LowLatency, EpLayout.RankMajor, 1),
                    EpLayoutKind.HighThroughputFlat => (EpMode.HighThroughput, EpLayout.Flat, 1),
                    _ => (EpMode.HighThroughput, EpLayout.ExpertMajor, 4),
                };
                EpCombineReduction reduction = kind is EpLayoutKind.LowLatencyExpertMajorPartials or EpLayoutKind.HighThroughputExpertMajorPartials
                    ? EpCombineReduction.PerRank : EpCombineReduction.PerSlot;
                _rigs[kind] = rig = new CheckRig(mode, layout, alignment, reduction, seed: 90 + (int)kind);
            }
            return rig;
        }
    }

    public void Dispose()
    {
        foreach (CheckRig rig in _rigs.Values) rig.Dispose();
    }
}

/// <summary>A (mode, layout) the corruption tests run; the last two combine per-rank partials (<see cref="EpCombineReduction.PerRank"/>).</summary>
public enum EpLayoutKind
{
    LowLatencyExpertMajor,
    LowLatencyRankMajor,
    HighThroughputFlat,
    HighThroughputExpertMajor,
    LowLatencyExpertMajorPartials,
    HighThroughputExpertMajorPartials,
}

/// <summary>
/// Every check can fail: for each output a check covers, a round trip that passes every check has one element of that
/// output corrupted, and the check must report it with a message naming the output and where it differs.
/// </summary>
public class ChecksReportCorruptionTests(CheckRigs rigs) : IClassFixture<CheckRigs>
{
    public static TheoryData<EpLayoutKind> Kinds() => new(Enum.GetValues<EpLayoutKind>());

    /// <summary>The corruption is in place: <paramref name="check"/> must throw, its message starting with <paramref name="start"/>; then <paramref name="undo"/>.</summary>
    private static void AssertReported(Action undo, Action check, string start)
    {
        try
        {
            var e = Assert.Throws<CheckFailedException>(check);
            Assert.StartsWith(start, e.Message, StringComparison.Ordinal);
        }
        finally
        {
            undo();
        }
    }

    public static TheoryData<EpLayoutKind> PerRankKinds() => new(EpLayoutKind.LowLatencyRankMajor, EpLayoutKind.HighThroughputFlat);

    /// <summary>One row (hidden elements from element <paramref name="first"/>) of a buffer, as bytes.</summary>
    private static byte[] Row(CheckRig r, EpBuffer buffer, long first)
    {
        var bytes = new byte[r.Config.RowBytes];
        buffer.Download<byte>(bytes, first * r.Config.DataType.SizeInBytes());
        return bytes;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void The_untouched_round_trip_passes_every_check(EpLayoutKind kind)
    {
        CheckRig r = rigs.For(kind);
        r.CheckAll();
        Assert.True(r.Expected.Rows.Any(row => !row.IsPadding), "rank 0 received nothing: the corruption tests would prove little");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_wrong_count_offset_or_total_is_reported_by_name(EpLayoutKind kind)
    {
        CheckRig r = rigs.For(kind);
        foreach (HandleSnapshot snap in new[] { r.AfterDispatch, r.AfterCombineBackward })
        {
            string phase = snap == r.AfterDispatch ? "dispatch" : "combine backward";
            var corruptible = new List<(string Name, int[] Values, int Index)>
            {
                ("ReceivedRankCounts", snap.RankCounts, 1),
                ("ReceivedExpertCounts", snap.ExpertCounts, snap.ExpertCounts.Length - 1),
                ("ReceivedTotal", snap.Total, 0),
                ("recvSourceOffsets", snap.SourceOffsets, snap.SourceOffsets.Length - 1),
            };
            if (r.Config.Layout == EpLayout.ExpertMajor) corruptible.Add(("ReceivedExpertOffsets", snap.ExpertOffsets, 1));
            foreach ((string name, int[] values, int index) in corruptible)
            {
                values[index] += 3;
                AssertReported(() => values[index] -= 3, () => RoundTripChecks.Metadata(phase, r.Config, snap, r.Model, r.Expected, 0), $"{phase}: {name}: expected [");
            }
        }
        r.CheckAll();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_wrong_source_info_element_is_reported_with_its_row(EpLayoutKind kind)
    {
        CheckRig r = rigs.For(kind);
        ExpectedRow row = r.Expected.Rows.Last(x => !x.IsPadding);
        foreach (int part in new[] { 0, 1, 2 })
        {
            int at = (int)(row.Row * 3) + part;
            r.AfterDispatch.SourceInfo[at] ^= 1;
            AssertReported(() => r.AfterDispatch.SourceInfo[at] ^= 1, () => RoundTripChecks.Metadata("dispatch", r.Config, r.AfterDispatch, r.Model, r.Expected, 0),
                $"dispatch: ReceivedSourceInfo row {row.Row}: expected ({row.Rank}, {row.Token}, {row.Slot}), got (");
        }
    }

    [Theory]
    [MemberData(nameof(PerRankKinds))]
    public void A_wrong_received_topk_id_or_weight_is_reported_with_its_row_and_slot(EpLayoutKind kind)
    {
        CheckRig r = rigs.For(kind);
        int k = r.Config.TopK;
        ExpectedRow row = r.Expected.Rows.First();
        int idAt = (int)(row.Row * k) + 2, weightAt = (int)(row.Row * k) + 1;
        Action check = () => RoundTripChecks.Metadata("dispatch", r.Config, r.AfterDispatch, r.Model, r.Expected, 0);
        r.AfterDispatch.TopKIds[idAt] += 1;
        AssertReported(() => r.AfterDispatch.TopKIds[idAt] -= 1, check,
            $"dispatch: received top-k of row {row.Row} slot 2: expected ({r.Model.Id(row.Rank, row.Token, 2)}, ");

        float weight = r.AfterDispatch.TopKWeights[weightAt];
        r.AfterDispatch.TopKWeights[weightAt] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(weight) ^ 1);
        AssertReported(() => r.AfterDispatch.TopKWeights[weightAt] = weight, check, $"dispatch: received top-k of row {row.Row} slot 1:");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_wrong_received_row_element_is_reported_with_its_row_and_element(EpLayoutKind kind)
    {
        CheckRig r = rigs.For(kind);
        ExpectedRow row = r.Expected.Rows.Last(x => !x.IsPadding);
        long first = r.Rig.PhysicalRow(row.Row) * r.Rig.Shape.LayoutPitch;
        string start = $"dispatch: layout row {row.Row} (from rank {row.Rank}, token {row.Token}, slot {row.Slot}) element 7:";
        AssertReported(CheckRig.FlipElement(r.Rig.Received, r.Config.DataType, first + 7), () =>
        {
            // The bench's validator compares the same row through ReceiveChecks.RowBits.
            Assert.StartsWith(start, ReceiveChecks.RowBits("dispatch", r.Config.DataType, row, r.Model.DispatchedBits(row), Row(r, r.Rig.Received, first)), StringComparison.Ordinal);
            RoundTripChecks.Layout("dispatch", r.Rig, r.Rig.Received, r.Expected, r.Model.DispatchedRow, CheckRig.Poison);
        }, start + " expected 0x");
        r.CheckAll();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_write_past_the_counts_is_reported_with_its_buffer_row(EpLayoutKind kind)
    {
        CheckRig r = rigs.For(kind);
        var written = new HashSet<long>(r.Expected.Rows.Select(row => r.Rig.PhysicalRow(row.Row)));
        long spare = Enumerable.Range(0, (int)r.Rig.PhysicalRows).Last(f => !written.Contains(f));
        foreach (EpBuffer buffer in new[] { r.Rig.Received, r.Rig.LayoutGrad })
        {
            string phase = buffer == r.Rig.Received ? "dispatch" : "combine backward";
            Func<ExpectedRow, float[]> value = buffer == r.Rig.Received ? r.Model.DispatchedRow : r.Model.CombineBackwardRow;
            AssertReported(CheckRig.FlipElement(buffer, r.Config.DataType, (spare * r.Rig.Shape.LayoutPitch) + 3),
                () => RoundTripChecks.Layout(phase, r.Rig, buffer, r.Expected, value, CheckRig.Poison),
                $"{phase}: buffer row {spare} (of {r.Rig.PhysicalRows}, spare rows included) element 3 was written");
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_wrong_combined_element_is_reported_with_its_token_and_element(EpLayoutKind kind)
    {
        CheckRig r = rigs.For(kind);
        int tokens = r.Model.Batch(0).Tokens, t = tokens - 1;
        long first = (long)t * r.Rig.Shape.OutPitch;
        string start = $"combine: token {t} element 5: expected 0x";
        AssertReported(CheckRig.FlipElement(r.Rig.Combined, r.Config.DataType, first + 5), () =>
        {
            // The bench's validator compares the combine output a token at a time through ReceiveChecks.TokenRow.
            Assert.StartsWith(start, ReceiveChecks.TokenRow("combine", t, r.Model.HomeRow(0, t, EpPass.Forward), Row(r, r.Rig.Combined, first), r.Config.DataType), StringComparison.Ordinal);
            RoundTripChecks.Home("combine", r.Rig, r.Rig.Combined, r.Model.Combined(0), tokens, CheckRig.Poison);
        }, start);
        r.CheckAll();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Wrong_backward_outputs_are_reported_with_where_they_differ(EpLayoutKind kind)
    {
        CheckRig r = rigs.For(kind);
        ExpectedRow row = r.Expected.Rows.First(x => !x.IsPadding);
        AssertReported(CheckRig.FlipElement(r.Rig.LayoutGrad, r.Config.DataType, (r.Rig.PhysicalRow(row.Row) * r.Rig.Shape.LayoutPitch) + 11),
            () => RoundTripChecks.Layout("combine backward", r.Rig, r.Rig.LayoutGrad, r.Expected, r.Model.CombineBackwardRow, CheckRig.Poison),
            $"combine backward: layout row {row.Row} (from rank {row.Rank}, token {row.Token}, slot {row.Slot}) element 11: expected 0x");

        int tokens = r.Model.Batch(0).Tokens;
        AssertReported(CheckRig.FlipElement(r.Rig.TokenGrad, r.Config.DataType, r.Config.Hidden - 1),
            () => RoundTripChecks.Home("dispatch backward", r.Rig, r.Rig.TokenGrad, r.Model.TokenGradient(0), tokens, CheckRig.Poison),
            $"dispatch backward: token 0 element {r.Config.Hidden - 1}: expected 0x");
        r.CheckAll();
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void The_comparison_of_two_runs_names_the_output_and_byte_that_differ(EpLayoutKind kind)
    {
        CheckRig r = rigs.For(kind);
        RankResult Collect() => ResultCollector.Collect(r.Rig.Handle, r.Rig.Received, 0, r.Rig.Combined, 0, r.Model.Batch(0).Tokens,
            r.Rig.LayoutGrad, r.Rig.TokenGrad, everyRow: true);
        RankResult expected = Collect();
        Assert.Null(ResultCompare.FirstDifference([expected], [Collect()]));
        foreach (string part in expected.Parts.Keys)
        {
            RankResult actual = Collect();
            if (actual.Parts[part].Length == 0) continue;
            int at = actual.Parts[part].Length / 2;
            actual.Parts[part][at] ^= 0x10;
            string? difference = ResultCompare.FirstDifference([expected], [actual]);
            Assert.StartsWith($"rank 0: '{part}' differs at byte {at}: Host ", difference, StringComparison.Ordinal);
        }
        RankResult missing = Collect();
        missing.Parts.Remove("combined");
        Assert.Equal("rank 0: 'combined' missing on Cuda (counts differ?)", ResultCompare.FirstDifference([expected], [missing]));
    }

    [Theory]
    [InlineData(EpLayoutKind.LowLatencyExpertMajor)]
    [InlineData(EpLayoutKind.HighThroughputExpertMajor)]
    [InlineData(EpLayoutKind.HighThroughputExpertMajorPartials)]
    public void The_message_rows_check_names_source_message_and_slot(EpLayoutKind kind)
    {
        CheckRig r = rigs.For(kind);
        int m = r.Config.MaxTokensPerRank, k = r.Config.TopK;
        int[][] expected = r.Model.MessageRows(0);
        var table = new int[CheckRig.World * m * k];
        Array.Fill(table, 12345);  // past the messages: never read
        for (int s = 0; s < CheckRig.World; s++) expected[s].CopyTo(table, s * m * k);
        Assert.Null(ReceiveChecks.MessageRows("rank 0", expected, table, m, k));
        Assert.Contains(expected.SelectMany(x => x), v => v >= 0);

        int source = Array.FindLastIndex(expected, x => x.Length > 0), j = expected[source].Length - 1;
        table[(source * m * k) + j] += 1;
        Assert.Equal($"rank 0: recvMessageRows[source {source}, message {j / k}, slot {j % k}]: expected {expected[source][j]}, got {expected[source][j] + 1} " +
            "(the dispatch-output row of that slot, -1 if its expert is elsewhere)", ReceiveChecks.MessageRows("rank 0", expected, table, m, k));

        // The Host backend keeps the table too: the round trips' checks compare it, and name a corrupted entry.
        int[] host = r.AfterDispatch.MessageRows;
        int at = (source * m * k) + j;
        host[at] += 1;
        AssertReported(() => host[at] -= 1, () => RoundTripChecks.Metadata("dispatch", r.Config, r.AfterDispatch, r.Model, r.Expected, 0),
            $"dispatch: recvMessageRows[source {source}, message {j / k}, slot {j % k}]: expected {expected[source][j]}, got {expected[source][j] + 1} ");
    }
}
