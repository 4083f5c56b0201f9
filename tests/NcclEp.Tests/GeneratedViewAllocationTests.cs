using System;
using System.Runtime.InteropServices;
using Xunit;
using NcclEp.Views;

namespace NcclEp.Tests;

/// <summary>The generated views and launch stubs allocate nothing on the data path.</summary>
public class GeneratedViewAllocationTests
{
    private const int Accesses = 10_000;

    [Fact]
    public unsafe void Ten_thousand_view_indexer_and_row_accesses_allocate_nothing()
    {
        const int experts = 4, capacity = 8, hidden = 512, rows = 64, topK = 4;
        nint tokens = (nint)NativeMemory.AlignedAlloc((nuint)(experts * capacity * hidden * sizeof(float)), 64);
        nint ints = (nint)NativeMemory.AlignedAlloc((nuint)(rows * topK * sizeof(int)), 64);
        nint floats = (nint)NativeMemory.AlignedAlloc((nuint)(rows * topK * sizeof(float)), 64);
        nint info = (nint)NativeMemory.AlignedAlloc((nuint)(rows * 3 * sizeof(int)), 64);
        NativeMemory.Clear((void*)tokens, (nuint)(experts * capacity * hidden * sizeof(float)));
        NativeMemory.Clear((void*)ints, (nuint)(rows * topK * sizeof(int)));
        NativeMemory.Clear((void*)floats, (nuint)(rows * topK * sizeof(float)));
        NativeMemory.Clear((void*)info, (nuint)(rows * 3 * sizeof(int)));
        try
        {
            EpTensor em = EpTensor.Create3D(tokens, EpDataType.Float32, experts, capacity, hidden);
            EpTensor rm = EpTensor.Create3D(tokens, EpDataType.BFloat16, experts, capacity, hidden);
            EpTensor flat = EpTensor.Create2D(tokens, EpDataType.Float32, experts * capacity, hidden);
            EpTensor ids = EpTensor.Create2D(ints, EpDataType.Int32, rows, topK);
            EpTensor weights = EpTensor.Create2D(floats, EpDataType.Float32, rows, topK);
            EpTensor sources = EpTensor.Create2D(info, EpDataType.Int32, rows, 3);
            EpTensor counts = EpTensor.Create1D(ints, EpDataType.Int32, rows);

            float sum = Touch(em, rm, flat, ids, weights, sources, counts); // JIT and tier-up outside the measurement
            long before = GC.GetAllocatedBytesForCurrentThread();
            sum += Touch(em, rm, flat, ids, weights, sources, counts);
            long after = GC.GetAllocatedBytesForCurrentThread();

            Assert.Equal(0, after - before);
            Assert.False(float.IsNaN(sum));
            Assert.NotEqual(0f, sum);
        }
        finally
        {
            NativeMemory.AlignedFree((void*)tokens);
            NativeMemory.AlignedFree((void*)ints);
            NativeMemory.AlignedFree((void*)floats);
            NativeMemory.AlignedFree((void*)info);
        }
    }

    private static float Touch(in EpTensor em, in EpTensor rm, in EpTensor flat, in EpTensor ids, in EpTensor weights, in EpTensor sources, in EpTensor counts)
    {
        var expertMajor = new ExpertMajorTokens<float>(em);
        var rankMajor = new RankMajorTokens<BFloat16>(rm);
        var flatRows = new FlatTokens<float>(flat);
        var topkIds = new TopKIdRows(ids);
        var topkWeights = new TopKWeightRows(weights);
        var sourceInfo = new SourceInfoRows(sources);
        var countValues = new Counts(counts);
        float sum = 0;
        for (int i = 0; i < Accesses; i++)
        {
            int e = i % expertMajor.LocalExperts, s = i % expertMajor.Capacity, h = i % expertMajor.Hidden;
            expertMajor[e, s, h] = i;
            sum += expertMajor[e, s, h];
            sum += expertMajor.Row(e, s)[h];
            rankMajor[e, s, h] = BFloat16.FromSingle(1f);
            sum += rankMajor.Row(e, s)[h].ToSingle();
            sum += flatRows[(e * expertMajor.Capacity) + s, h] + flatRows.Row(i % flatRows.Rows).Length;
            int r = i % topkIds.Rows, k = i % topkIds.TopK;
            topkIds[r, k] = k;
            topkWeights[r, k] = 0.5f;
            sum += topkIds.Row(r)[k] + topkWeights.Row(r)[k];
            sourceInfo[r] = new EpSourceInfo(1, r, k);
            sum += sourceInfo[r].Token + countValues[r] + countValues.AsSpan().Length;
        }
        return sum;
    }

    [Fact]
    public void Views_read_and_write_the_descriptor_memory_in_layout_order()
    {
        EpGroup group = EpGroup.CreateHost(new EpConfig(EpMode.LowLatency, 4, 512, 2, 4, EpLayout.RankMajor, EpDataType.Float32), 1)[0];
        using EpBuffer buffer = group.AllocateBuffer(1 * 4 * 512 * sizeof(float));
        buffer.Fill(0);
        var view = new RankMajorTokens<float>(buffer.As3D(EpDataType.Float32, 1, 4, 512));
        view[0, 2, 7] = 42f;
        view.Row(0, 3)[511] = 7f;
        var host = new float[4 * 512];
        buffer.Download<float>(host);
        Assert.Equal(42f, host[(2 * 512) + 7]);
        Assert.Equal(7f, host[(3 * 512) + 511]);
        Assert.Equal((1, 4, 512), (view.WorldSize, view.MaxTokensPerRank, view.Hidden));
        var mirror = new RankMajorTokens<float>(host, 1, 4, 512);
        Assert.Equal(42f, mirror[0, 2, 7]);
        group.Dispose();
    }

    [Fact]
    public void Views_reject_a_wrong_element_type_and_an_index_outside_the_view()
    {
        var data = new float[8 * 512];
        ArgumentException wrongType = Assert.Throws<ArgumentException>(() =>
            new FlatTokens<BFloat16>(EpTensor.Create2D(16, EpDataType.Float32, 8, 512)).IsEmpty);
        Assert.Equal("tensor", wrongType.ParamName);
        ArgumentOutOfRangeException outside = Assert.Throws<ArgumentOutOfRangeException>(() => new FlatTokens<float>(data, 8, 512)[8, 0]);
        Assert.Equal("row", outside.ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new FlatTokens<float>(data, 8, 512).Row(-1).Length);
        Assert.Throws<ArgumentException>(() => new FlatTokens<float>(data, 8, 513).IsEmpty);
    }

    [Fact]
    public void Host_update_dispatch_and_combine_allocate_nothing_after_warm_up()
    {
        const int tokens = 8, hidden = 512, topK = 2, experts = 4;
        var config = new EpConfig(EpMode.LowLatency, experts, hidden, topK, tokens, EpLayout.ExpertMajor, EpDataType.Float32);
        EpGroup g = EpGroup.CreateHost(config, 1)[0];
        using EpHandle h = g.CreateHandle();
        using EpBuffer ids = g.AllocateBuffer(tokens * topK * 4);
        using EpBuffer w = g.AllocateBuffer(tokens * topK * 4);
        using EpBuffer x = g.AllocateBuffer(tokens * hidden * 4);
        using EpBuffer recv = g.AllocateBuffer(config.ReceiveRows(1) * hidden * 4);
        using EpBuffer y = g.AllocateBuffer(tokens * hidden * 4);
        var routing = new int[tokens * topK];
        for (int i = 0; i < routing.Length; i++) routing[i] = i % experts;
        ids.Upload<int>(routing);
        w.Fill(0);
        x.Fill(0);
        EpTensor idsT = ids.As2D(EpDataType.Int32, tokens, topK), wT = w.As2D(EpDataType.Float32, tokens, topK);
        EpTensor xT = x.As2D(EpDataType.Float32, tokens, hidden), yT = y.As2D(EpDataType.Float32, tokens, hidden);
        EpTensor rT = recv.As3D(EpDataType.Float32, g.LocalExperts, tokens, hidden);

        // As in ZeroAllocationTests, 2,000 warm-up steps, so that tiered compilation and on-stack replacement are over
        // before the measurement. With three, a cold CI run once counted 7,264 bytes in the measured steps (not seen
        // in four warm runs; the Host path itself has no lazy allocation).
        for (int i = 0; i < 2_000; i++) Step(g, h, idsT, wT, xT, rT, yT);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) Step(g, h, idsT, wT, xT, rT, yT);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        g.Dispose();
    }

    private static void Step(EpGroup g, EpHandle h, in EpTensor ids, in EpTensor w, in EpTensor x, in EpTensor r, in EpTensor y)
    {
        h.Update(ids, w);
        g.Dispatch(h, x, r);
        g.Combine(h, r, y);
    }
}
