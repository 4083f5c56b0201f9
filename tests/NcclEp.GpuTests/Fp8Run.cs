using System;
using System.Threading;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// One FP8 case on one backend: Update → FP8 Dispatch (rows and scales; or the FP8 dispatch that routes itself) → Combine
/// of fixed expert outputs → Combine backward → Dispatch backward (the forward pair split into send + complete if asked),
/// then every output a rank owns: counts, the valid rows' source info, FP8 rows and every
/// scale column of them, the combined rows and both gradients. The scales tensor has slack in its strides (rows 3 more
/// apart than needed, blocks 5 more) so both backends are checked with the same non-contiguous descriptor.
/// </summary>
internal static class Fp8Run
{
    /// <param name="split">Dispatch and combine forward as send + complete (DispatchSend, CombineSend, Complete).</param>
    /// <param name="routed">The FP8 dispatch takes the routing itself instead of Update first.</param>
    public static RankResult[] Run(EpGroup[] groups, Fp8Case c, Fp8CaseInputs inputs, bool split, bool routed)
    {
        var results = new RankResult[groups.Length];
        using var barrier = new Barrier(groups.Length);
        RankThreads.RunOnce(groups.Length, rank => results[rank] = RunRank(groups[rank], c, inputs, barrier, split, routed));
        return results;
    }

    private static RankResult RunRank(EpGroup g, Fp8Case c, Fp8CaseInputs all, Barrier barrier, bool split, bool routed)
    {
        EpConfig config = g.Config;
        RankBatch input = all.Ranks[g.Rank];
        int world = g.WorldSize, t = input.Tokens, h = config.Hidden, k = config.TopK;
        long rowBytes = config.RowBytes, rows = config.ReceiveRows(world);
        (long blocks, int columns, long blockRows) = ScaleShape(config, world);
        long columnStride = blockRows + 3, blockStride = (columns * columnStride) + 5;
        EpStream s = g.CreateStream();
        using EpHandle handle = g.CreateHandle();
        using EpBuffer ids = g.AllocateBuffer(Math.Max(4, t * k * 4)), weights = g.AllocateBuffer(Math.Max(4, t * k * 4));
        using EpBuffer x = g.AllocateBuffer(Math.Max(16, t * rowBytes)), grad = g.AllocateBuffer(Math.Max(16, t * rowBytes));
        using EpBuffer combined = g.AllocateBuffer(Math.Max(16, t * rowBytes)), gradX = g.AllocateBuffer(Math.Max(16, t * rowBytes));
        using EpBuffer received = g.AllocateBuffer(rows * h), scales = g.AllocateBuffer(blocks * blockStride * 4);
        using EpBuffer expertOutputs = g.AllocateBuffer(rows * rowBytes), gradRows = g.AllocateBuffer(rows * rowBytes);
        ids.Upload<int>(input.Ids);
        weights.Upload<float>(input.Weights);
        x.Upload<byte>(input.X);
        grad.Upload<byte>(input.Grad);
        expertOutputs.Upload<byte>(all.ExpertOutputs[g.Rank]);
        foreach (EpBuffer b in new[] { received, scales, combined, gradX, gradRows }) b.Fill(0xEE);

        EpTensor xT = EpTensor.Create2D(x.Pointer, config.DataType, t, h), gradT = EpTensor.Create2D(grad.Pointer, config.DataType, t, h);
        EpTensor combinedT = EpTensor.Create2D(combined.Pointer, config.DataType, t, h), gradXT = EpTensor.Create2D(gradX.Pointer, config.DataType, t, h);
        EpTensor scalesT = blocks > 1 || config.Mode == EpMode.LowLatency
            ? EpTensor.Create3D(scales.Pointer, config.ScalesDataType, blocks, columns, blockRows, blockStride, columnStride)
            : EpTensor.Create2D(scales.Pointer, config.ScalesDataType, columns, blockRows, columnStride);

        // Co-located ranks share a GPU: set-up must not overlap another rank's waiting kernels.
        if (!barrier.SignalAndWait(TimeSpan.FromSeconds(60))) throw new TimeoutException("A peer rank did not reach the barrier (it failed earlier).");
        EpTensor idsT = EpTensor.Create2D(ids.Pointer, EpDataType.Int32, t, k), weightsT = EpTensor.Create2D(weights.Pointer, EpDataType.Float32, t, k);
        EpTensor receivedT = Layout(received, config, world, EpDataType.Float8E4M3);
        if (!routed) handle.Update(idsT, weightsT, s);
        if (split)
        {
            if (routed) g.DispatchSend(handle, idsT, weightsT, xT, receivedT, scalesT, s);
            else g.DispatchSend(handle, xT, receivedT, scalesT, s);
            g.Complete(handle, s);
            g.CombineSend(handle, Layout(expertOutputs, config, world, config.DataType), combinedT, s);
            g.Complete(handle, s);
        }
        else
        {
            if (routed) g.Dispatch(handle, idsT, weightsT, xT, receivedT, scalesT, s);
            else g.Dispatch(handle, xT, receivedT, scalesT, s);
            g.Combine(handle, Layout(expertOutputs, config, world, config.DataType), combinedT, s);
        }
        g.Combine(handle, Layout(gradRows, config, world, config.DataType), gradT, s, EpPass.Backward);
        g.Dispatch(handle, gradXT, Layout(gradRows, config, world, config.DataType), s, EpPass.Backward);
        g.Synchronize(s);
        if (!barrier.SignalAndWait(TimeSpan.FromSeconds(60))) throw new TimeoutException("A peer rank did not reach the barrier (it failed earlier).");

        var result = new RankResult();
        int[] rankCounts = ResultCollector.State<int>(handle, handle.ReceivedRankCounts, world), expertCounts = ResultCollector.State<int>(handle, handle.ReceivedExpertCounts, g.LocalExperts);
        int[] offsets = ResultCollector.State<int>(handle, handle.ReceivedExpertOffsets, g.LocalExperts + 1), total = ResultCollector.State<int>(handle, handle.ReceivedTotal, 1);
        result.Add("counts", Bytes(rankCounts, expertCounts, offsets, total));
        var scaleWords = new uint[scales.Bytes / 4];
        scales.Download<uint>(scaleWords);
        foreach ((long first, long count) in LayoutRows.Defined(config, world, rankCounts, expertCounts, offsets, total[0]))
        {
            string at = $"[{first}..{first + count})";
            result.Add("received" + at, Download(received, first * h, count * h));
            result.Add("gradRows" + at, Download(gradRows, first * rowBytes, count * rowBytes));
            var info = new byte[count * 12];
            HandleState.Read<byte>(handle, handle.ReceivedSourceInfo.Data + (nint)(first * 12), info);
            result.Add("sourceInfo" + at, info);
            var entries = new uint[count * columns];
            for (long i = 0; i < count; i++)
            {
                long index = first + i, block = config.Mode == EpMode.LowLatency ? index / blockRows : 0, row = index - (block * blockRows);
                for (int column = 0; column < columns; column++)
                    entries[(i * columns) + column] = scaleWords[(block * blockStride) + (column * columnStride) + row];
            }
            result.Add("scales" + at, System.Runtime.InteropServices.MemoryMarshal.AsBytes(entries.AsSpan()).ToArray());
        }
        result.Add("combined", Download(combined, 0, t * rowBytes));
        result.Add("gradX", Download(gradX, 0, t * rowBytes));
        return result;
    }

    /// <summary>(blocks, columns, rows per block) of the scales: 3-D for the low-latency layouts, one block otherwise.</summary>
    private static (long Blocks, int Columns, long Rows) ScaleShape(in EpConfig c, int world) => (c.Mode, c.Layout) switch
    {
        (EpMode.LowLatency, EpLayout.ExpertMajor) => (c.LocalExperts(world), c.ScaleColumns, (long)world * c.MaxTokensPerRank),
        (EpMode.LowLatency, _) => (world, c.ScaleColumns, c.MaxTokensPerRank),
        _ => (1, c.ScaleColumns, c.ReceiveRows(world)),
    };

    private static EpTensor Layout(EpBuffer b, in EpConfig c, int world, EpDataType type) => (c.Mode, c.Layout) switch
    {
        (EpMode.LowLatency, EpLayout.ExpertMajor) => b.As3D(type, c.LocalExperts(world), (long)world * c.MaxTokensPerRank, c.Hidden),
        (_, EpLayout.RankMajor) => b.As3D(type, world, c.MaxTokensPerRank, c.Hidden),
        _ => b.As2D(type, c.ReceiveRows(world), c.Hidden),
    };

    private static byte[] Download(EpBuffer b, long offset, long bytes)
    {
        var data = new byte[bytes];
        if (bytes > 0) b.Download<byte>(data, offset);
        return data;
    }

    private static byte[] Bytes(params int[][] parts)
    {
        int n = 0;
        foreach (int[] p in parts) n += p.Length;
        var all = new int[n];
        n = 0;
        foreach (int[] p in parts) { p.CopyTo(all, n); n += p.Length; }
        return System.Runtime.InteropServices.MemoryMarshal.AsBytes(all.AsSpan()).ToArray();
    }
}
