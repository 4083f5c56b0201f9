using System;
using System.Collections.Generic;
using Xunit;

namespace NcclEp.Tests.Fp8;

/// <summary>What one rank's step left: the handle's counts and source info, the dispatch output, and the outputs of
/// the combine and both backward passes that follow it.</summary>
internal sealed class Fp8RankResult
{
    public int[] RankCounts = [], ExpertCounts = [], ExpertOffsets = [], Total = [];
    public EpSourceInfo[] SourceInfo = [];
    public int[] RecvTopKIds = [];
    public byte[] Received = [], Combined = [], GradRows = [], GradX = [];
    public uint[] Scales = [];

    /// <summary>(first row, rows) of every run of the dispatch output the layout defines.</summary>
    public List<(long First, long Count)> ValidRows = [];
}

/// <summary>
/// One step on every rank — Update, Dispatch (FP8 with scales, or unquantized), Combine of expert outputs that are a
/// function of each row's source, Combine backward, Dispatch backward — with the scales tensor laid out with slack in
/// its strides (<see cref="ScalesGeometry"/>), filled with a sentinel first.
/// </summary>
internal static class Fp8Step
{
    public const uint Sentinel = 0xEEEEEEEEu;

    /// <param name="split">Dispatch and combine forward as send + <see cref="EpGroup.Complete"/> (DispatchSend, CombineSend).</param>
    /// <param name="routed">The dispatch takes the routing itself (the routed overloads) instead of Update, then Dispatch.</param>
    public static Fp8RankResult[] Run(EpConfig config, int world, Fp8Inputs[] inputs, bool split = false, bool routed = false) =>
        Fp8World.Run(config, world, g => RunRank(g, inputs[g.Rank], split, routed));

    /// <summary>Asserts that two runs of the step left the same results on one rank, output by output.</summary>
    public static void AssertSame(Fp8RankResult expected, Fp8RankResult actual, int rank)
    {
        Assert.True(expected.ValidRows.Count > 0, $"rank {rank}: no rows");
        Assert.Equal(expected.RankCounts, actual.RankCounts);
        Assert.Equal(expected.ExpertCounts, actual.ExpertCounts);
        Assert.Equal(expected.ExpertOffsets, actual.ExpertOffsets);
        Assert.Equal(expected.Total, actual.Total);
        Assert.Equal(expected.SourceInfo, actual.SourceInfo);
        Assert.Equal(expected.RecvTopKIds, actual.RecvTopKIds);
        Assert.Equal(expected.Received, actual.Received);
        Assert.Equal(expected.Scales, actual.Scales);
        Assert.Equal(expected.Combined, actual.Combined);
        Assert.Equal(expected.GradRows, actual.GradRows);
        Assert.Equal(expected.GradX, actual.GradX);
    }

    private static Fp8RankResult RunRank(EpGroup g, Fp8Inputs input, bool split, bool routed)
    {
        EpConfig c = g.Config;
        int t = input.Tokens, h = c.Hidden, k = c.TopK, es = c.DataType.SizeInBytes();
        long rows = c.ReceiveRows(g.WorldSize);
        var geometry = new ScalesGeometry(c, g.WorldSize);
        using EpHandle handle = g.CreateHandle();
        using EpBuffer ids = g.AllocateBuffer(Math.Max(4, t * k * 4)), weights = g.AllocateBuffer(Math.Max(4, t * k * 4));
        using EpBuffer x = g.AllocateBuffer(Math.Max(16, (long)t * h * es)), grad = g.AllocateBuffer(Math.Max(16, (long)t * h * es));
        using EpBuffer combined = g.AllocateBuffer(Math.Max(16, (long)t * h * es)), gradX = g.AllocateBuffer(Math.Max(16, (long)t * h * es));
        using EpBuffer received = g.AllocateBuffer(rows * c.ReceivedRowBytes), scales = g.AllocateBuffer(Math.Max(4, geometry.Elements * 4));
        using EpBuffer expertOutputs = g.AllocateBuffer(rows * c.RowBytes), gradRows = g.AllocateBuffer(rows * c.RowBytes);
        ids.Upload<int>(input.Ids);
        weights.Upload<float>(input.Weights);
        x.Upload<byte>(input.Bytes);
        grad.Upload<byte>(Gradient(c, g.Rank, t));
        received.Fill(0xEE);
        scales.Fill(0xEE);
        expertOutputs.Fill(0);
        gradRows.Fill(0xEE);

        EpTensor xT = x.As2D(c.DataType, t, h), gradT = grad.As2D(c.DataType, t, h);
        EpTensor combinedT = combined.As2D(c.DataType, t, h), gradXT = gradX.As2D(c.DataType, t, h);
        EpTensor idsT = ids.As2D(EpDataType.Int32, t, k), weightsT = weights.As2D(EpDataType.Float32, t, k);
        EpTensor receivedT = Layout(received, c, g, c.ReceivedDataType), scalesT = geometry.Tensor(scales);
        if (routed) Dispatch(g, handle, in idsT, in weightsT, in xT, in receivedT, in scalesT, split);
        else
        {
            handle.Update(idsT, weightsT);
            Dispatch(g, handle, in xT, in receivedT, in scalesT, split);
        }
        if (split) g.Complete(handle);

        var result = new Fp8RankResult
        {
            RankCounts = g.DownloadToArray<int>(handle.ReceivedRankCounts),
            ExpertCounts = g.DownloadToArray<int>(handle.ReceivedExpertCounts),
            ExpertOffsets = g.DownloadToArray<int>(handle.ReceivedExpertOffsets),
            Total = g.DownloadToArray<int>(handle.ReceivedTotal),
            SourceInfo = g.DownloadToArray<EpSourceInfo>(handle.ReceivedSourceInfo),
            RecvTopKIds = c.Layout == EpLayout.ExpertMajor ? [] : g.DownloadToArray<int>(handle.ReceivedTopKIds),
        };
        result.ValidRows = ValidRows(c, g.WorldSize, result);
        expertOutputs.Upload<byte>(ExpertOutputs(c, rows, result));

        if (split)
        {
            g.CombineSend(handle, Layout(expertOutputs, c, g, c.DataType), combinedT);
            g.Complete(handle);
        }
        else
        {
            g.Combine(handle, Layout(expertOutputs, c, g, c.DataType), combinedT);
        }
        g.Combine(handle, Layout(gradRows, c, g, c.DataType), gradT, default, EpPass.Backward);
        g.Dispatch(handle, gradXT, Layout(gradRows, c, g, c.DataType), default, EpPass.Backward);

        result.Received = new byte[received.Bytes];
        received.Download<byte>(result.Received);
        result.Scales = new uint[scales.Bytes / 4];
        scales.Download<uint>(result.Scales);
        result.Combined = new byte[(long)t * h * es];
        combined.Download<byte>(result.Combined);
        result.GradX = new byte[(long)t * h * es];
        gradX.Download<byte>(result.GradX);
        result.GradRows = new byte[gradRows.Bytes];
        gradRows.Download<byte>(result.GradRows);
        return result;
    }

    /// <summary>The forward dispatch after Update: FP8 with its scales for a quantized group; a send when <paramref name="split"/>.</summary>
    private static void Dispatch(EpGroup g, EpHandle h, in EpTensor x, in EpTensor received, in EpTensor scales, bool split)
    {
        bool fp8 = g.Config.IsDispatchQuantized;
        if (fp8 && split) g.DispatchSend(h, x, received, scales);
        else if (fp8) g.Dispatch(h, x, received, scales);
        else if (split) g.DispatchSend(h, x, received);
        else g.Dispatch(h, x, received);
    }

    /// <summary>The forward dispatch that takes the routing itself, with the same choices.</summary>
    private static void Dispatch(EpGroup g, EpHandle h, in EpTensor ids, in EpTensor weights, in EpTensor x, in EpTensor received, in EpTensor scales, bool split)
    {
        bool fp8 = g.Config.IsDispatchQuantized;
        if (fp8 && split) g.DispatchSend(h, ids, weights, x, received, scales);
        else if (fp8) g.Dispatch(h, ids, weights, x, received, scales);
        else if (split) g.DispatchSend(h, ids, weights, x, received);
        else g.Dispatch(h, ids, weights, x, received);
    }

    /// <summary>The dispatch output's shape in <paramref name="type"/> elements: 3-D for the low-latency layouts.</summary>
    public static EpTensor Layout(EpBuffer b, in EpConfig c, EpGroup g, EpDataType type) => (c.Mode, c.Layout) switch
    {
        (EpMode.LowLatency, EpLayout.ExpertMajor) => b.As3D(type, g.LocalExperts, (long)g.WorldSize * c.MaxTokensPerRank, c.Hidden),
        (_, EpLayout.RankMajor) => b.As3D(type, g.WorldSize, c.MaxTokensPerRank, c.Hidden),
        _ => b.As2D(type, c.ReceiveRows(g.WorldSize), c.Hidden),
    };

    /// <summary>The rows the layout defines after the dispatch (padding rows included); the rest is unspecified.</summary>
    private static List<(long, long)> ValidRows(in EpConfig c, int world, Fp8RankResult r)
    {
        long m = c.MaxTokensPerRank;
        var runs = new List<(long, long)>();
        if (c.Layout == EpLayout.RankMajor)
            for (int s = 0; s < world; s++) runs.Add((s * m, r.RankCounts[s]));
        else if (c.Layout == EpLayout.ExpertMajor && c.Mode == EpMode.LowLatency)
            for (int l = 0; l < r.ExpertCounts.Length; l++) runs.Add((l * world * m, r.ExpertCounts[l]));
        else
            runs.Add((0, c.Layout == EpLayout.ExpertMajor ? r.ExpertOffsets[^1] : r.Total[0]));
        return runs;
    }

    /// <summary>Expert outputs that name their row's source: (1 + rank + 2·token + 3·slot) / 8 + element / 1024, in the row type.</summary>
    private static byte[] ExpertOutputs(in EpConfig c, long rows, Fp8RankResult r)
    {
        var values = new float[rows * c.Hidden];
        foreach ((long first, long count) in r.ValidRows)
        {
            for (long i = first; i < first + count; i++)
            {
                EpSourceInfo info = r.SourceInfo[i];
                if (info.Rank < 0) continue;
                for (int e = 0; e < c.Hidden; e++) values[(i * c.Hidden) + e] = ((1 + info.Rank + (2 * info.Token) + (3 * info.Slot)) / 8f) + (e / 1024f);
            }
        }
        return Encode(values, c.DataType);
    }

    private static byte[] Gradient(in EpConfig c, int rank, int tokens)
    {
        var values = new float[tokens * c.Hidden];
        for (int i = 0; i < values.Length; i++) values[i] = ((i % 37) - 18 + rank) / 16f;
        return Encode(values, c.DataType);
    }

    private static byte[] Encode(float[] values, EpDataType type)
    {
        if (type == EpDataType.Float32) return System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
        var bytes = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 2), BFloat16.FromSingle(values[i]).Bits);
        return bytes;
    }
}

/// <summary>
/// The scales tensor of the tests, with slack in every stride so a write outside its entries shows: 3-D
/// <c>[blocks, columns, rows]</c> with rows 3 apart more than needed and blocks 5 more, or 2-D <c>[columns, rows]</c>.
/// </summary>
internal readonly struct ScalesGeometry
{
    public ScalesGeometry(in EpConfig c, int world)
    {
        Columns = c.ScaleColumns;
        ThreeD = c.Mode == EpMode.LowLatency;
        Blocks = !ThreeD ? 1 : c.Layout == EpLayout.ExpertMajor ? c.LocalExperts(world) : world;
        Rows = !ThreeD ? c.ReceiveRows(world) : c.Layout == EpLayout.ExpertMajor ? (long)world * c.MaxTokensPerRank : c.MaxTokensPerRank;
        ColumnStride = Rows + 3;
        BlockStride = (Columns * ColumnStride) + 5;
        Type = c.ScalesDataType;
    }

    public bool ThreeD { get; }
    public long Blocks { get; }
    public int Columns { get; }
    public long Rows { get; }
    public long ColumnStride { get; }
    public long BlockStride { get; }
    public EpDataType Type { get; }
    public long Elements => ThreeD ? Blocks * BlockStride : Columns * ColumnStride;

    public EpTensor Tensor(EpBuffer b) => ThreeD
        ? EpTensor.Create3D(b.Pointer, Type, Blocks, Columns, Rows, BlockStride, ColumnStride)
        : EpTensor.Create2D(b.Pointer, Type, Columns, Rows, ColumnStride);

    /// <summary>The element of (block, column, row); 2-D tensors have one block.</summary>
    public long Index(long block, int column, long row) => (ThreeD ? block * BlockStride : 0) + (column * ColumnStride) + row;
}
