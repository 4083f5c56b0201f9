using System;
using NcclEp.Cuda;

namespace NcclEp.GpuTests;

/// <summary>
/// Runs one case on one backend: Update → Dispatch → identity experts → Combine, then the backward pass
/// (Combine backward of a gradient, Dispatch backward of that), and downloads every output a rank owns.
/// </summary>
internal static class BackendRun
{
    public static RankResult[] Run(EpGroup[] groups, GpuCase c, RankInputs[] inputs, byte[][] gradients)
    {
        var results = new RankResult[groups.Length];
        using var barrier = new System.Threading.Barrier(groups.Length);
        RankWorkers.Run(groups.Length, rank => results[rank] = RunRank(groups[rank], c, inputs[rank], gradients[rank], barrier));
        return results;
    }

    private static RankResult RunRank(EpGroup g, GpuCase c, RankInputs input, byte[] gradient, System.Threading.Barrier barrier)
    {
        EpConfig config = g.Config;
        int world = g.WorldSize, local = g.LocalExperts, t = input.Tokens, h = config.Hidden, k = config.TopK;
        int elem = config.DataType.SizeInBytes();
        long rowBytes = (long)h * elem;
        long layoutRows = config.ReceiveRows(world);
        EpStream s = g.CreateStream();  // owned by the group
        using EpHandle handle = g.CreateHandle();
        using EpBuffer ids = g.AllocateBuffer(Math.Max(1, t * k * 4));
        using EpBuffer weights = g.AllocateBuffer(Math.Max(1, t * k * 4));
        using EpBuffer x = g.AllocateBuffer(Math.Max(16, t * rowBytes));
        using EpBuffer grad = g.AllocateBuffer(Math.Max(16, t * rowBytes));
        using EpBuffer combined = g.AllocateBuffer(Math.Max(16, t * rowBytes));
        using EpBuffer gradX = g.AllocateBuffer(Math.Max(16, t * rowBytes));
        using EpBuffer received = g.AllocateBuffer(layoutRows * rowBytes);
        using EpBuffer gradRows = g.AllocateBuffer(layoutRows * rowBytes);
        ids.Upload<int>(input.Ids);
        weights.Upload<float>(input.Weights);
        x.Upload<byte>(input.Rows);
        grad.Upload<byte>(gradient);
        received.Fill(0xEE);
        gradRows.Fill(0xEE);
        combined.Fill(0xEE);
        gradX.Fill(0xEE);

        // Co-located ranks share a GPU: allocation and set-up must not overlap another rank's waiting kernels.
        if (!barrier.SignalAndWait(TimeSpan.FromSeconds(60))) throw new TimeoutException("A peer rank did not reach the barrier (it failed earlier).");
        Mark(g, 0);
        GpuTrace.Line($"{g.Backend} rank {g.Rank}/{world}: set up");
        EpTensor idsT = EpTensor.Create2D(ids.Pointer, EpDataType.Int32, t, k);
        EpTensor weightsT = EpTensor.Create2D(weights.Pointer, EpDataType.Float32, t, k);
        EpTensor xT = EpTensor.Create2D(x.Pointer, config.DataType, t, h);
        EpTensor gradT = EpTensor.Create2D(grad.Pointer, config.DataType, t, h);
        EpTensor combinedT = EpTensor.Create2D(combined.Pointer, config.DataType, t, h);
        EpTensor gradXT = EpTensor.Create2D(gradX.Pointer, config.DataType, t, h);
        EpTensor receivedT = LayoutTensor(received, config, world, local, layoutRows);
        EpTensor gradRowsT = LayoutTensor(gradRows, config, world, local, layoutRows);

        handle.Update(idsT, weightsT, s);
        Mark(g, 1);
        g.Dispatch(handle, xT, receivedT, s);
        Mark(g, 2);
        GpuTrace.Line($"{g.Backend} rank {g.Rank}/{world}: update and dispatch launched");
        g.Combine(handle, receivedT, combinedT, s);
        Mark(g, 3);
        g.Combine(handle, gradRowsT, gradT, s, EpPass.Backward);
        Mark(g, 4);
        g.Dispatch(handle, gradXT, gradRowsT, s, EpPass.Backward);
        Mark(g, 5);
        GpuTrace.Line($"{g.Backend} rank {g.Rank}/{world}: launched");
        try { g.Synchronize(s); }
        finally { Mark(g, 6); }
        GpuTrace.Line($"{g.Backend} rank {g.Rank}/{world}: synchronised");
        if (!barrier.SignalAndWait(TimeSpan.FromSeconds(60))) throw new TimeoutException("A peer rank did not reach the barrier (it failed earlier).");

        var result = new RankResult();
        int[] rankCounts = Download<int>(handle, handle.ReceivedRankCounts, world);
        int[] expertCounts = Download<int>(handle, handle.ReceivedExpertCounts, local);
        int[] offsets = Download<int>(handle, handle.ReceivedExpertOffsets, local + 1);
        int[] total = Download<int>(handle, handle.ReceivedTotal, 1);
        result.Add("rankCounts", Bytes(rankCounts));
        result.Add("expertCounts", Bytes(expertCounts));
        result.Add("expertOffsets", Bytes(offsets));
        result.Add("total", Bytes(total));
        foreach ((long first, long count) in ValidRows(config, world, rankCounts, expertCounts, offsets, total[0]))
        {
            string at = $"[{first}..{first + count})";
            result.Add("received" + at, DownloadRows(received, first, count, rowBytes));
            result.Add("gradRows" + at, DownloadRows(gradRows, first, count, rowBytes));
            result.Add("sourceInfo" + at, DownloadRaw(handle, handle.ReceivedSourceInfo.Data + (nint)(first * 12), count * 12));
            if (config.Layout != EpLayout.ExpertMajor)
            {
                result.Add("recvTopkIds" + at, DownloadRaw(handle, handle.ReceivedTopkIds.Data + (nint)(first * k * 4), count * k * 4));
                result.Add("recvTopkWeights" + at, DownloadRaw(handle, handle.ReceivedTopkWeights.Data + (nint)(first * k * 4), count * k * 4));
            }
        }
        result.Add("combined", DownloadRows(combined, 0, t, rowBytes));
        result.Add("gradX", DownloadRows(gradX, 0, t, rowBytes));
        return result;
    }

    /// <summary>The Cuda ranks' timeline only: the Host oracle runs the same steps beside them.</summary>
    private static void Mark(EpGroup g, int step)
    {
        if (g.Backend == EpBackendKind.Cuda) LaunchTimeline.Mark(g.Rank, step);
    }

    private static EpTensor LayoutTensor(EpBuffer b, EpConfig c, int world, int local, long rows) => c.Layout switch
    {
        EpLayout.ExpertMajor when c.Mode == EpMode.LowLatency => b.As3D(c.DataType, local, (long)world * c.MaxTokensPerRank, c.Hidden),
        EpLayout.RankMajor => b.As3D(c.DataType, world, c.MaxTokensPerRank, c.Hidden),
        _ => b.As2D(c.DataType, rows, c.Hidden),
    };

    /// <summary>The row ranges a layout defines (the rest is unspecified and not compared).</summary>
    internal static (long First, long Count)[] ValidRows(EpConfig c, int world, int[] rankCounts, int[] expertCounts, int[] offsets, int total)
    {
        long m = c.MaxTokensPerRank;
        return (c.Mode, c.Layout) switch
        {
            (_, EpLayout.RankMajor) => Build(world, i => (i * m, rankCounts[i])),
            (EpMode.LowLatency, EpLayout.ExpertMajor) => Build(expertCounts.Length, i => (i * world * m, expertCounts[i])),
            (EpMode.HighThroughput, EpLayout.ExpertMajor) => [(0, offsets[^1])],
            _ => [(0, total)],
        };

        static (long, long)[] Build(int n, Func<int, (long, long)> f)
        {
            var ranges = new (long, long)[n];
            for (int i = 0; i < n; i++) ranges[i] = f(i);
            return ranges;
        }
    }

    private static T[] Download<T>(EpHandle handle, EpTensor t, int n) where T : unmanaged
    {
        var values = new T[n];
        HandleState.Read<T>(handle, t.Data, values);
        return values;
    }

    private static byte[] DownloadRows(EpBuffer b, long first, long count, long rowBytes)
    {
        var bytes = new byte[count * rowBytes];
        if (bytes.Length > 0) b.Download<byte>(bytes, first * rowBytes);
        return bytes;
    }

    private static byte[] DownloadRaw(EpHandle handle, nint address, long bytes)
    {
        var data = new byte[bytes];
        HandleState.Read<byte>(handle, address, data);
        return data;
    }

    private static byte[] Bytes<T>(T[] values) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
}
