using System;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests;

/// <summary>
/// The data path allocates nothing: on every rank thread, after a warm-up, 10,000 iterations of Update, Dispatch
/// and Combine (and the backward pair) leave GC.GetAllocatedBytesForCurrentThread unchanged; so do their send and
/// complete halves (DispatchSend, CombineSend, Complete), two micro-batches overlapped, on handles in caller memory,
/// zero-copy receive into the window (EpGroup.WindowReceiveRows), expert-major combines of per-rank partials, and the
/// dispatch that routes itself (plain, send and complete, into the window).
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
    public void Update_dispatch_and_combine_allocate_nothing_on_any_rank(EpMode mode, EpLayout layout, int alignment, EpDataType dataType) =>
        Measure(mode, layout, alignment, dataType, Calls.Plain);

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, 1, EpDataType.BFloat16)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, 1, EpDataType.BFloat16)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, 1, EpDataType.BFloat16)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, 4, EpDataType.Float32)]
    public void Send_and_complete_of_two_overlapped_micro_batches_allocate_nothing_on_any_rank(EpMode mode, EpLayout layout, int alignment, EpDataType dataType) =>
        Measure(mode, layout, alignment, dataType, Calls.Split);

    [Theory]
    [InlineData(EpMode.LowLatency, 1, EpDataType.BFloat16, false)]
    [InlineData(EpMode.HighThroughput, 4, EpDataType.Float32, false)]
    [InlineData(EpMode.LowLatency, 1, EpDataType.Float32, true)]
    [InlineData(EpMode.HighThroughput, 4, EpDataType.BFloat16, true)]
    public void Combines_of_per_rank_partials_allocate_nothing_on_any_rank(EpMode mode, int alignment, EpDataType dataType, bool split) =>
        Measure(mode, EpLayout.ExpertMajor, alignment, dataType, split ? Calls.Split : Calls.Plain, EpCombineReduction.PerRank);

    [Theory]
    [InlineData(EpDataType.BFloat16)]
    [InlineData(EpDataType.Float32)]
    public void Zero_copy_receive_and_a_combine_of_the_window_rows_allocate_nothing_on_any_rank(EpDataType dataType) =>
        Measure(EpMode.LowLatency, EpLayout.RankMajor, 1, dataType, Calls.Window);

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, 1, EpDataType.BFloat16)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, 1, EpDataType.Float32)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, 1, EpDataType.BFloat16)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, 4, EpDataType.BFloat16)]
    public void Routed_dispatch_plain_and_split_allocates_nothing_on_any_rank(EpMode mode, EpLayout layout, int alignment, EpDataType dataType) =>
        Measure(mode, layout, alignment, dataType, Calls.Routed);

    private enum Calls
    {
        Plain,
        Split,
        Window,
        Routed,
    }

    private static void Measure(EpMode mode, EpLayout layout, int alignment, EpDataType dataType, Calls calls,
        EpCombineReduction reduction = EpCombineReduction.PerSlot)
    {
        var config = new EpConfig(mode, Experts, Hidden, TopK, MaxTokens, layout, dataType, ExpertAlignment: alignment) { CombineReduction = reduction };
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
                using EpBuffer handleMemory = g.AllocateBuffer(g.HandleBytes);
                using EpHandle h2 = g.CreateHandle(handleMemory);
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

                using EpBuffer rows2 = g.AllocateBuffer(layoutRows * Hidden * es), y2 = g.AllocateBuffer(MaxTokens * Hidden * es);
                EpTensor rows2T = Retarget(in rowsT, rows2), y2T = y2.As2D(dataType, tokens, Hidden);

                for (int pass = 0; pass < 2; pass++)
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    int count = pass == 0 ? WarmUp : Iterations;
                    if (calls == Calls.Split) IterateSplit(g, h, h2, in idsT, in weightsT, in xT, in rowsT, in rows2T, in yT, in y2T, count);
                    else if (calls == Calls.Window) IterateInWindow(g, h2, in idsT, in weightsT, in xT, in yT, count);
                    else if (calls == Calls.Routed) IterateRouted(g, h, h2, in idsT, in weightsT, in xT, in rowsT, in yT, count);
                    else Iterate(g, h, in idsT, in weightsT, in xT, in rowsT, in yT, count);
                    if (pass == 1) allocated[rank] = GC.GetAllocatedBytesForCurrentThread() - before;
                }
            }, TimeSpan.FromMinutes(3));
        }
        foreach (EpGroup g in groups) g.Dispose();
        Assert.Equal(new long[World], allocated);
    }

    /// <summary>Two micro-batches as two-batch overlap runs them: a's dispatch, then b's dispatch in flight with a's combine.</summary>
    private static void IterateSplit(EpGroup g, EpHandle a, EpHandle b, in EpTensor ids, in EpTensor weights, in EpTensor x,
        in EpTensor rowsA, in EpTensor rowsB, in EpTensor yA, in EpTensor yB, int count)
    {
        for (int i = 0; i < count; i++)
        {
            a.Update(in ids, in weights);
            b.Update(in ids, in weights);
            g.DispatchSend(a, in x, in rowsA);
            g.Complete(a);
            g.DispatchSend(b, in x, in rowsB);
            g.CombineSend(a, in rowsA, in yA);
            g.Complete(b);
            g.Complete(a);
            g.CombineSend(b, in rowsB, in yB);
            g.Complete(b);
            g.CombineSend(a, in rowsA, in yA, default, EpPass.Backward);
            g.Complete(a);
        }
    }

    /// <summary>Dispatch into the window's rows (taken again before each dispatch), then a combine that reads them there.</summary>
    private static void IterateInWindow(EpGroup g, EpHandle h, in EpTensor ids, in EpTensor weights, in EpTensor x, in EpTensor y, int count)
    {
        for (int i = 0; i < count; i++)
        {
            h.Update(in ids, in weights);
            EpTensor window = g.WindowReceiveRows();
            g.Dispatch(h, in x, in window);
            g.Combine(h, in window, in y);
            window = g.WindowReceiveRows();
            g.DispatchSend(h, in x, in window);
            g.Complete(h);
            g.CombineSend(h, in window, in y);
            g.Complete(h);
        }
    }

    /// <summary>
    /// The dispatch that routes itself, plain and as send + complete, each followed by its combine; rank-major also into
    /// the window's rows.
    /// </summary>
    private static void IterateRouted(EpGroup g, EpHandle h, EpHandle h2, in EpTensor ids, in EpTensor weights, in EpTensor x, in EpTensor rows, in EpTensor y, int count)
    {
        bool window = g.Config.Layout == EpLayout.RankMajor;
        for (int i = 0; i < count; i++)
        {
            g.Dispatch(h, in ids, in weights, in x, in rows);
            g.Combine(h, in rows, in y);
            g.DispatchSend(h, in ids, in weights, in x, in rows);
            g.Complete(h);
            g.Combine(h, in rows, in y);
            if (!window) continue;
            EpTensor inWindow = g.WindowReceiveRows();
            g.Dispatch(h2, in ids, in weights, in x, in inWindow);
            g.Combine(h2, in inWindow, in y);
        }
    }

    private static EpTensor Retarget(in EpTensor t, EpBuffer buffer) =>
        t.DimensionCount == 3 ? buffer.As3D(t.DataType, t.Dim(0), t.Dim(1), t.Dim(2)) : buffer.As2D(t.DataType, t.Dim(0), t.Dim(1));

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
