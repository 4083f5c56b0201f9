using System;
using System.Collections.Generic;
using System.Linq;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using NcclEp.Tests.Protocol;
using Xunit.Sdk;

namespace NcclEp.Tests.Overlap;

/// <summary>
/// Rank-major rows of the Host backend read and written through their descriptor, strides and all: the caller's buffer or
/// the window's messages (zero-copy receive). Only the rows in use count: row (s, i) for i &lt; tokens received from s.
/// </summary>
internal static unsafe class RankMajorRows
{
    /// <summary>Element bits of every row in use, source by source.</summary>
    public static uint[] Read(EpConfig c, in EpTensor rows, int[] rankCounts)
    {
        int h = c.Hidden, size = c.DataType.SizeInBytes();
        int used = 0;
        foreach (int n in rankCounts) used += n;
        var bits = new uint[used * h];
        int at = 0;
        for (int s = 0; s < rankCounts.Length; s++)
        {
            for (int i = 0; i < rankCounts[s]; i++, at++)
            {
                byte* row = Row(in rows, s, i, size);
                for (int e = 0; e < h; e++) bits[(at * h) + e] = size == 2 ? ((ushort*)row)[e] : ((uint*)row)[e];
            }
        }
        return bits;
    }

    /// <summary>The bits <see cref="Read"/> must give: the reference's rows in layout order, each its source token's row.</summary>
    public static uint[] Expected(EpConfig c, ExpectedReceive expected, IReadOnlyList<RankBatch> batches)
    {
        int h = c.Hidden;
        ExpectedRow[] rows = expected.Rows.Where(r => !r.IsPadding).OrderBy(r => r.Row).ToArray();
        var bits = new uint[rows.Length * h];
        for (int at = 0; at < rows.Length; at++)
        {
            for (int e = 0; e < h; e++) bits[(at * h) + e] = Numerics.Encode(batches[rows[at].Rank].XAt(rows[at].Token, e), c.DataType);
        }
        return bits;
    }

    /// <summary>Every receive-side tensor of the handle, as bytes.</summary>
    public static byte[] Metadata(EpHandle h) =>
        new[] { h.ReceivedRankCounts, h.ReceivedExpertCounts, h.ReceivedExpertOffsets, h.ReceivedTotal, h.ReceivedSourceInfo, h.ReceivedTopKIds, h.ReceivedTopKWeights }
            .SelectMany(t => HostView.Bytes(t)).ToArray();

    /// <summary>The tests' distinct experts of receiving rank <paramref name="rank"/> (<see cref="ProtocolExpected"/>), applied in place to every row in use.</summary>
    public static void ApplyExperts(EpConfig c, in EpTensor rows, int[] rankCounts, int op, int rank)
    {
        int h = c.Hidden, size = c.DataType.SizeInBytes();
        int key = rank;
        for (int s = 0; s < rankCounts.Length; s++)
        {
            for (int i = 0; i < rankCounts[s]; i++)
            {
                byte* row = Row(in rows, s, i, size);
                for (int e = 0; e < h; e++)
                {
                    uint x = size == 2 ? ((ushort*)row)[e] : ((uint*)row)[e];
                    uint y = Numerics.Encode(ProtocolExpected.Expert(op, key, Numerics.Decode(x, c.DataType), c.DataType), c.DataType);
                    if (size == 2) ((ushort*)row)[e] = (ushort)y;
                    else ((uint*)row)[e] = y;
                }
            }
        }
    }

    /// <summary>Asserts two row sets are the same bits, naming the first element that differs.</summary>
    public static void AssertSame(uint[] expected, uint[] actual, int hidden, string what)
    {
        if (expected.Length != actual.Length) throw new XunitException($"{what}: {actual.Length / hidden} rows in use, expected {expected.Length / hidden}");
        int at = expected.AsSpan().CommonPrefixLength(actual);
        if (at < expected.Length)
            throw new XunitException($"{what}: row {at / hidden} (in use) element {at % hidden}: expected 0x{expected[at]:X}, got 0x{actual[at]:X}");
    }

    private static byte* Row(in EpTensor rows, int s, int i, int size) =>
        (byte*)rows.Data + (((s * rows.Stride(0)) + (i * rows.Stride(1))) * size);
}
