using System;
using System.Collections.Generic;
using NcclEp.Graphs;
using NcclEp.Testing;
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

    /// <summary>The step over this rig's buffers for <paramref name="tokens"/> tokens (<paramref name="routed"/>: the dispatch routes itself).</summary>
    public MoeTrainingStep Step(int tokens, bool backward = true, bool routed = false)
    {
        EpConfig c = Config;
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
            RoutedDispatch = routed,
            TokenGrad = Home(TokenGrad, tokens),
            LayoutGrad = Layout(LayoutGrad),
            ExpertGrad = Layout(ExpertGrad),
            XGrad = Home(XGrad, tokens),
            Experts = new ExpertsWork(Handle, Layout(Received), Layout(ExpertOut), EpPass.Forward),
            ExpertsBackward = new ExpertsWork(Handle, Layout(LayoutGrad), Layout(ExpertGrad), EpPass.Backward),
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
        X.Upload<byte>(batch.X);
        TokenGrad.Upload<byte>(batch.Grad);
    }

    /// <summary>Every output of the step for <paramref name="tokens"/> tokens, by name, as bytes (only the rows the layout defines).</summary>
    public RankResult Snapshot(int tokens, bool backward = true) =>
        ResultCollector.Collect(Handle, Received, 0, Combined, 0, tokens, backward ? LayoutGrad : null, backward ? XGrad : null);

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

    private byte[] Rows(EpBuffer b, long first, long count)
    {
        var bytes = new byte[count * Config.RowBytes];
        if (bytes.Length > 0) b.Download<byte>(bytes, first * Config.RowBytes);
        return bytes;
    }

    public void Dispose()
    {
        foreach (EpBuffer b in _buffers) b.Dispose();
        Handle.Dispose();
    }
}
