using System;
using System.Collections.Generic;
using NcclEp.Graphs;
using NcclEp.Tests.Infrastructure;

namespace NcclEp.Tests.Graphs;

/// <summary>
/// One rank's handle and buffers for the graph tests, sized for <c>MaxTokensPerRank</c>: routing, tokens, the layout
/// buffers of the forward and backward step, and the outputs. <see cref="Step"/> describes the step over them for a
/// token count; <see cref="RunEager"/> makes the same calls directly; <see cref="Snapshot"/> reads every output.
/// </summary>
internal sealed class GraphRankRig : IDisposable
{
    private readonly List<EpBuffer> _buffers = new();

    public GraphRankRig(EpGroup group)
    {
        Group = group;
        EpConfig c = group.Config;
        int m = c.MaxTokensPerRank, k = c.TopK;
        LayoutRows = c.ReceiveRows(group.WorldSize);
        Handle = group.CreateHandle();
        Ids = Allocate((long)m * k * 4);
        Weights = Allocate((long)m * k * 4);
        X = Allocate((long)m * c.RowBytes);
        Combined = Allocate((long)m * c.RowBytes);
        TokenGrad = Allocate((long)m * c.RowBytes);
        XGrad = Allocate((long)m * c.RowBytes);
        Received = Allocate(LayoutRows * c.RowBytes);
        ExpertOut = Allocate(LayoutRows * c.RowBytes);
        LayoutGrad = Allocate(LayoutRows * c.RowBytes);
        ExpertGrad = Allocate(LayoutRows * c.RowBytes);
        foreach (EpBuffer b in _buffers) b.Fill(0xEE);
    }

    public EpGroup Group { get; }
    public EpHandle Handle { get; }
    public long LayoutRows { get; }
    public EpBuffer Ids { get; }
    public EpBuffer Weights { get; }
    public EpBuffer X { get; }
    public EpBuffer Combined { get; }
    public EpBuffer TokenGrad { get; }
    public EpBuffer XGrad { get; }
    public EpBuffer Received { get; }
    public EpBuffer ExpertOut { get; }
    public EpBuffer LayoutGrad { get; }
    public EpBuffer ExpertGrad { get; }

    private EpConfig Config => Group.Config;

    /// <summary>The step over this rig's buffers for <paramref name="tokens"/> tokens.</summary>
    public MoeTrainingStep Step(int tokens, bool backward = true)
    {
        EpConfig c = Config;
        long elements = LayoutRows * c.Hidden;
        return new MoeTrainingStep
        {
            Handle = Handle,
            Ids = Ids.As2D(EpDataType.Int32, tokens, c.TopK),
            Weights = Weights.As2D(EpDataType.Float32, tokens, c.TopK),
            X = Home(X, tokens),
            Received = Layout(Received),
            ExpertOut = Layout(ExpertOut),
            Combined = Home(Combined, tokens),
            Backward = backward,
            TokenGrad = Home(TokenGrad, tokens),
            LayoutGrad = Layout(LayoutGrad),
            ExpertGrad = Layout(ExpertGrad),
            XGrad = Home(XGrad, tokens),
            Experts = new ScaleRowsWork(Received.Pointer, ExpertOut.Pointer, elements, c.DataType),
            ExpertsBackward = new ScaleRowsWork(LayoutGrad.Pointer, ExpertGrad.Pointer, elements, c.DataType),
        };
    }

    /// <summary>The step's calls made directly on the group (the eager reference), without NcclEp.Graphs.</summary>
    public void RunEager(int tokens, bool backward = true)
    {
        MoeTrainingStep s = Step(tokens, backward);
        EpGroup g = Group;
        s.Handle.Update(in s.Ids, in s.Weights);
        g.Dispatch(s.Handle, in s.X, in s.Received);
        s.Experts.Execute(default);
        g.Combine(s.Handle, in s.ExpertOut, in s.Combined);
        if (!backward) return;
        g.Combine(s.Handle, in s.LayoutGrad, in s.TokenGrad, default, EpPass.Backward);
        s.ExpertsBackward.Execute(default);
        g.Dispatch(s.Handle, in s.XGrad, in s.ExpertGrad, default, EpPass.Backward);
    }

    /// <summary>Writes a batch's routing and rows (token rows and the output gradient) into the rig's buffers.</summary>
    public void Upload(RankBatch batch)
    {
        Ids.Upload<int>(batch.Ids);
        Weights.Upload<float>(batch.Weights);
        UploadRows(X, batch.X);
        UploadRows(TokenGrad, batch.Grad);
    }

    /// <summary>Every output of the step for <paramref name="tokens"/> tokens, by name, as bytes (only the rows the layout defines).</summary>
    public SortedDictionary<string, byte[]> Snapshot(int tokens, bool backward = true)
    {
        EpConfig c = Config;
        EpHandle h = Handle;
        int[] rankCounts = HostView.Int32s(h.ReceivedRankCounts), expertCounts = HostView.Int32s(h.ReceivedExpertCounts);
        int[] offsets = HostView.Int32s(h.ReceivedExpertOffsets), total = HostView.Int32s(h.ReceivedTotal);
        var result = new SortedDictionary<string, byte[]>(StringComparer.Ordinal)
        {
            ["rankCounts"] = HostView.Bytes(h.ReceivedRankCounts),
            ["expertCounts"] = HostView.Bytes(h.ReceivedExpertCounts),
            ["expertOffsets"] = HostView.Bytes(h.ReceivedExpertOffsets),
            ["total"] = HostView.Bytes(h.ReceivedTotal),
            ["combined"] = Rows(Combined, 0, tokens),
        };
        if (backward) result["xGrad"] = Rows(XGrad, 0, tokens);
        foreach ((long first, long count) in ValidRows(rankCounts, expertCounts, offsets, total[0]))
        {
            string at = $"[{first}..{first + count})";
            result["received" + at] = Rows(Received, first, count);
            if (backward) result["layoutGrad" + at] = Rows(LayoutGrad, first, count);
        }
        return result;
    }

    private EpBuffer Allocate(long bytes)
    {
        EpBuffer b = Group.AllocateBuffer(Math.Max(bytes, 128));
        _buffers.Add(b);
        return b;
    }

    private EpTensor Home(EpBuffer b, int tokens) => b.As2D(Config.DataType, tokens, Config.Hidden);

    private EpTensor Layout(EpBuffer b)
    {
        EpConfig c = Config;
        int world = Group.WorldSize;
        return (c.Mode, c.Layout) switch
        {
            (EpMode.LowLatency, EpLayout.ExpertMajor) => b.As3D(c.DataType, Group.LocalExperts, (long)world * c.MaxTokensPerRank, c.Hidden),
            (EpMode.LowLatency, EpLayout.RankMajor) => b.As3D(c.DataType, world, c.MaxTokensPerRank, c.Hidden),
            _ => b.As2D(c.DataType, LayoutRows, c.Hidden),
        };
    }

    private void UploadRows(EpBuffer b, float[] values)
    {
        if (Config.DataType == EpDataType.Float32)
        {
            b.Upload<float>(values);
            return;
        }
        var bits = new ushort[values.Length];
        for (int i = 0; i < values.Length; i++) bits[i] = (ushort)Numerics.Encode(values[i], EpDataType.BFloat16);
        b.Upload<ushort>(bits);
    }

    private byte[] Rows(EpBuffer b, long first, long count)
    {
        var bytes = new byte[count * Config.RowBytes];
        if (bytes.Length > 0) b.Download<byte>(bytes, first * Config.RowBytes);
        return bytes;
    }

    /// <summary>The row ranges the layout defines after a dispatch (the rest is unspecified).</summary>
    private List<(long First, long Count)> ValidRows(int[] rankCounts, int[] expertCounts, int[] offsets, int total)
    {
        EpConfig c = Config;
        long m = c.MaxTokensPerRank;
        var ranges = new List<(long, long)>();
        switch (c.Mode, c.Layout)
        {
            case (_, EpLayout.RankMajor):
                for (int r = 0; r < rankCounts.Length; r++) ranges.Add((r * m, rankCounts[r]));
                break;
            case (EpMode.LowLatency, EpLayout.ExpertMajor):
                for (int e = 0; e < expertCounts.Length; e++) ranges.Add((e * Group.WorldSize * m, expertCounts[e]));
                break;
            case (EpMode.HighThroughput, EpLayout.ExpertMajor):
                ranges.Add((0, offsets[^1]));
                break;
            default:
                ranges.Add((0, total));
                break;
        }
        return ranges;
    }

    public void Dispose()
    {
        foreach (EpBuffer b in _buffers) b.Dispose();
        Handle.Dispose();
    }
}
