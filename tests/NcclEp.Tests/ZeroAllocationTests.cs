using System;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests;

/// <summary>
/// The data path allocates nothing: on every rank thread, after a warm-up, 10,000 iterations of Update, Dispatch
/// and Combine (and the backward pair) leave GC.GetAllocatedBytesForCurrentThread unchanged.
/// </summary>
[Collection(SerialCollection.Name)]
public class ZeroAllocationTests
{
    private const int World = 2, Hidden = 512, MaxTokens = 8, TopK = 4, Experts = 8;
    private const int WarmUp = 2_000, Iterations = 10_000;

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, 1, EpDataType.BFloat16)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, 1, EpDataType.BFloat16)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, 1, EpDataType.BFloat16)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, 4, EpDataType.BFloat16)]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, 1, EpDataType.Float32)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, 1, EpDataType.Float32)]
    public void Update_dispatch_and_combine_allocate_nothing_on_any_rank(EpMode mode, EpLayout layout, int alignment, EpDataType dataType)
    {
        var config = new EpConfig(mode, Experts, Hidden, TopK, MaxTokens, layout, dataType, ExpertAlignment: alignment);
        EpGroup[] groups = EpGroup.CreateHost(config, World);
        var allocated = new long[World];
        using (var threads = new RankThreads(World))
        {
            threads.Run(rank =>
            {
                EpGroup g = groups[rank];
                int es = dataType.SizeInBytes();
                long layoutRows = config.ReceiveRows(World);
                using EpHandle h = g.CreateHandle();
                using EpBuffer ids = g.AllocateBuffer(MaxTokens * TopK * 4), weights = g.AllocateBuffer(MaxTokens * TopK * 4);
                using EpBuffer x = g.AllocateBuffer(MaxTokens * Hidden * es), y = g.AllocateBuffer(MaxTokens * Hidden * es);
                using EpBuffer rows = g.AllocateBuffer(layoutRows * Hidden * es);
                const int tokens = MaxTokens - 1;
                var routing = new int[tokens * TopK];
                for (int i = 0; i < routing.Length; i++)
                    routing[i] = (i % TopK == 3 && i % 2 == 1) ? -1 : ((i / TopK) + (3 * (i % TopK)) + rank) % Experts;
                ids.Upload<int>(routing);
                weights.Upload<float>(Array.ConvertAll(routing, id => 0.5f));
                x.Fill(0x3F);

                // Descriptors are plain structs built once, outside the measured loop.
                EpTensor idsT = ids.As2D(EpDataType.Int32, tokens, TopK), weightsT = weights.As2D(EpDataType.Float32, tokens, TopK);
                EpTensor xT = x.As2D(dataType, tokens, Hidden), yT = y.As2D(dataType, tokens, Hidden);
                EpTensor rowsT = mode == EpMode.HighThroughput ? rows.As2D(dataType, layoutRows, Hidden)
                    : layout == EpLayout.RankMajor ? rows.As3D(dataType, World, MaxTokens, Hidden)
                    : rows.As3D(dataType, g.LocalExperts, World * MaxTokens, Hidden);

                Iterate(g, h, in idsT, in weightsT, in xT, in rowsT, in yT, WarmUp);
                long mid = GC.GetAllocatedBytesForCurrentThread();
                Iterate(g, h, in idsT, in weightsT, in xT, in rowsT, in yT, Iterations);
                allocated[rank] = GC.GetAllocatedBytesForCurrentThread() - mid;
            }, TimeSpan.FromMinutes(3));
        }
        foreach (EpGroup g in groups) g.Dispose();
        Assert.Equal(new long[World], allocated);
    }

    private static void Iterate(EpGroup g, EpHandle h, in EpTensor ids, in EpTensor weights, in EpTensor x, in EpTensor rows, in EpTensor y, int count)
    {
        for (int i = 0; i < count; i++)
        {
            h.Update(in ids, in weights);
            g.Dispatch(h, in x, in rows);
            g.Combine(h, in rows, in y);
            g.Combine(h, in rows, in y, default, EpPass.Backward);
            g.Dispatch(h, in x, in rows, default, EpPass.Backward);
        }
    }
}
