using System;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>One micro-batch of an overlap case on one rank: its handle, routing, token rows and every output buffer.</summary>
internal sealed class MicroBatch : IDisposable
{
    private readonly EpConfig _c;
    private readonly int _world;

    public MicroBatch(EpGroup g, EpHandle handle, long layoutBytes, long homeBytes)
    {
        _c = g.Config;
        _world = g.WorldSize;
        Handle = handle;
        int m = _c.MaxTokensPerRank, k = _c.TopK;
        Ids = g.AllocateBuffer((long)m * k * 4);
        Weights = g.AllocateBuffer((long)m * k * 4);
        X = g.AllocateBuffer(homeBytes);
        Home = g.AllocateBuffer(homeBytes);
        TokenGrad = g.AllocateBuffer(homeBytes);
        Received = g.AllocateBuffer(layoutBytes);
        ExpertOut = g.AllocateBuffer(layoutBytes);
        GradRows = g.AllocateBuffer(layoutBytes);
    }

    public EpHandle Handle { get; }
    public EpBuffer Ids { get; }
    public EpBuffer Weights { get; }
    public EpBuffer X { get; }
    public EpBuffer Home { get; }
    public EpBuffer TokenGrad { get; }
    public EpBuffer Received { get; }
    public EpBuffer ExpertOut { get; }
    public EpBuffer GradRows { get; }
    public int Tokens { get; private set; }

    /// <summary>Uploads the routing and rows and poisons every output.</summary>
    public void Load(RankBatch input)
    {
        Tokens = input.Tokens;
        Ids.Upload<int>(input.Ids);
        Weights.Upload<float>(input.Weights);
        X.Upload<byte>(input.X);
        foreach (EpBuffer b in new[] { Home, TokenGrad, Received, ExpertOut, GradRows }) b.Fill(0xEE);
    }

    public void Update(EpStream stream) => Handle.Update(
        EpTensor.Create2D(Ids.Pointer, EpDataType.Int32, Tokens, _c.TopK), EpTensor.Create2D(Weights.Pointer, EpDataType.Float32, Tokens, _c.TopK), stream);

    /// <summary>Dispatch: tokens in, the layout out.</summary>
    public (EpTensor Home, EpTensor Rows) DispatchArgs() => (HomeTensor(X, _c), LayoutTensor(Received, _c, _world));

    /// <summary>Combine: the experts' outputs in, the combined rows out.</summary>
    public (EpTensor Home, EpTensor Rows) CombineArgs() => (HomeTensor(Home, _c), LayoutTensor(ExpertOut, _c, _world));

    /// <summary>Combine(Backward): the combined rows as the output's gradient in, the layout's gradient out (dispatch route).</summary>
    public (EpTensor Home, EpTensor Rows) CombineBackwardArgs() => (HomeTensor(Home, _c), LayoutTensor(GradRows, _c, _world));

    /// <summary>Dispatch(Backward): the experts' outputs as the layout's gradient in, the tokens' gradient out (combine route).</summary>
    public (EpTensor Home, EpTensor Rows) DispatchBackwardArgs() => (HomeTensor(TokenGrad, _c), LayoutTensor(ExpertOut, _c, _world));

    public EpTensor HomeTensor(EpBuffer b, EpConfig c) => EpTensor.Create2D(b.Pointer, c.DataType, Tokens, c.Hidden);

    public EpTensor LayoutTensor(EpBuffer b, EpConfig c, int world) => (c.Mode, c.Layout) switch
    {
        (EpMode.LowLatency, EpLayout.ExpertMajor) => EpTensor.Create3D(b.Pointer, c.DataType, c.LocalExperts(world), (long)world * c.MaxTokensPerRank, c.Hidden),
        (_, EpLayout.RankMajor) => EpTensor.Create3D(b.Pointer, c.DataType, world, c.MaxTokensPerRank, c.Hidden),
        _ => EpTensor.Create2D(b.Pointer, c.DataType, c.ReceiveRows(world), c.Hidden),
    };

    public void Dispose()
    {
        foreach (EpBuffer b in new[] { Ids, Weights, X, Home, TokenGrad, Received, ExpertOut, GradRows }) b.Dispose();
        Handle.Dispose();
    }
}
