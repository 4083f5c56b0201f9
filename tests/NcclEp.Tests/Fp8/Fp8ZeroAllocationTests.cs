using System;
using Xunit;

namespace NcclEp.Tests.Fp8;

/// <summary>
/// The FP8 dispatch joins the zero-allocation gate (ZeroAllocationTests): on every rank thread, after a warm-up, 10,000
/// steps of Update, FP8 Dispatch (plain, or DispatchSend + Complete; or the FP8 dispatch that routes itself), Combine
/// and both backward passes leave GC.GetAllocatedBytesForCurrentThread unchanged.
/// </summary>
[Collection(NcclEp.Tests.Infrastructure.SerialCollection.Name)]
public class Fp8ZeroAllocationTests
{
    private const int World = 2, Hidden = 512, MaxTokens = 8, TopK = 4, Experts = 8;
    private const int WarmUp = 2_000, Iterations = 10_000;

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3, false)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, EpDispatchQuantization.Float8E4M3UE8M0, false)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, EpDispatchQuantization.Float8E4M3PowerOfTwo, false)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3UE8M0, false)]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3, true)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, EpDispatchQuantization.Float8E4M3UE8M0, true)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, EpDispatchQuantization.Float8E4M3, false, true)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3PowerOfTwo, true, true)]
    public void FP8_dispatch_steps_allocate_nothing_on_any_rank(EpMode mode, EpLayout layout, EpDispatchQuantization recipe, bool split, bool routed = false)
    {
        var config = new EpConfig(mode, Experts, Hidden, TopK, MaxTokens, layout,
            ExpertAlignment: mode == EpMode.HighThroughput && layout == EpLayout.ExpertMajor ? 4 : 1) { DispatchQuantization = recipe };
        long[] allocated = Fp8World.Run(config, World, g =>
        {
            long rows = config.ReceiveRows(World);
            const int tokens = MaxTokens - 1;
            var geometry = new ScalesGeometry(config, World);
            using EpHandle h = g.CreateHandle();
            using EpBuffer ids = g.AllocateBuffer(MaxTokens * TopK * 4), weights = g.AllocateBuffer(MaxTokens * TopK * 4);
            using EpBuffer x = g.AllocateBuffer(MaxTokens * config.RowBytes), y = g.AllocateBuffer(MaxTokens * config.RowBytes);
            using EpBuffer received = g.AllocateBuffer(rows * config.ReceivedRowBytes), scales = g.AllocateBuffer(geometry.Elements * 4);
            using EpBuffer expertRows = g.AllocateBuffer(rows * config.RowBytes);
            var routing = new int[tokens * TopK];
            for (int i = 0; i < routing.Length; i++) routing[i] = ((i / TopK) + (3 * (i % TopK)) + g.Rank) % Experts;
            ids.Upload<int>(routing);
            weights.Upload<float>(Array.ConvertAll(routing, _ => 0.5f));
            x.Fill(0x3F);

            // Descriptors are plain structs built once, outside the measured loop.
            EpTensor idsT = ids.As2D(EpDataType.Int32, tokens, TopK), weightsT = weights.As2D(EpDataType.Float32, tokens, TopK);
            EpTensor xT = x.As2D(config.DataType, tokens, Hidden), yT = y.As2D(config.DataType, tokens, Hidden);
            EpTensor receivedT = Fp8Step.Layout(received, config, g, EpDataType.Float8E4M3), scalesT = geometry.Tensor(scales);
            EpTensor expertT = Fp8Step.Layout(expertRows, config, g, config.DataType);

            Iterate(g, h, in idsT, in weightsT, in xT, in receivedT, in scalesT, in expertT, in yT, WarmUp, split, routed);
            long before = GC.GetAllocatedBytesForCurrentThread();
            Iterate(g, h, in idsT, in weightsT, in xT, in receivedT, in scalesT, in expertT, in yT, Iterations, split, routed);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        });
        Assert.Equal(new long[World], allocated);
    }

    private static void Iterate(EpGroup g, EpHandle h, in EpTensor ids, in EpTensor weights, in EpTensor x, in EpTensor received,
        in EpTensor scales, in EpTensor expertRows, in EpTensor y, int count, bool split, bool routed)
    {
        for (int i = 0; i < count; i++)
        {
            if (!routed) h.Update(in ids, in weights);
            if (split && routed) g.DispatchSend(h, in ids, in weights, in x, in received, in scales);
            else if (split) g.DispatchSend(h, in x, in received, in scales);
            else if (routed) g.Dispatch(h, in ids, in weights, in x, in received, in scales);
            else g.Dispatch(h, in x, in received, in scales);
            if (split) g.Complete(h);
            g.Combine(h, in expertRows, in y);
            g.Combine(h, in expertRows, in y, default, EpPass.Backward);
            g.Dispatch(h, in x, in expertRows, default, EpPass.Backward);
        }
    }
}
