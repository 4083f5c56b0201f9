using System;
using NcclEp.Cuda;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// Runs one case on one backend: Update → Dispatch → identity experts → Combine, then the backward pass
/// (Combine backward of a gradient, Dispatch backward of that), and downloads every output a rank owns.
/// </summary>
internal static class BackendRun
{
    public static RankResult[] Run(EpGroup[] groups, GpuCase c, RankBatch[] inputs)
    {
        var results = new RankResult[groups.Length];
        using var barrier = new System.Threading.Barrier(groups.Length);
        RankThreads.RunOnce(groups.Length, rank => results[rank] = RunRank(groups[rank], c, inputs[rank], barrier), TimeSpan.FromMinutes(3));
        return results;
    }

    private static RankResult RunRank(EpGroup g, GpuCase c, RankBatch input, System.Threading.Barrier barrier)
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
        x.Upload<byte>(input.X);
        grad.Upload<byte>(input.Grad);
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

        return ResultCollector.Collect(handle, received, 0, combined, 0, t, gradRows, gradX);
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
}
