using System;
using System.Linq;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Tests.Infrastructure;

/// <summary>One rank's routing, tokens, expert outputs and outputs (fp32 rows, low-latency expert-major) for small tests.</summary>
internal sealed class RankIo : IDisposable
{
    private readonly EpBuffer _ids, _weights, _x, _y, _rows, _out;
    private readonly int _tokens;

    public RankIo(EpGroup g, RankBatch batch)
    {
        EpConfig c = g.Config;
        _tokens = batch.Tokens;
        _ids = g.AllocateBuffer(c.MaxTokensPerRank * c.TopK * 4);
        _weights = g.AllocateBuffer(c.MaxTokensPerRank * c.TopK * 4);
        _x = g.AllocateBuffer(c.MaxTokensPerRank * c.RowBytes);
        _y = g.AllocateBuffer(c.MaxTokensPerRank * c.RowBytes);
        _rows = g.AllocateBuffer(c.ReceiveRows(g.WorldSize) * c.RowBytes);
        _out = g.AllocateBuffer(c.ReceiveRows(g.WorldSize) * c.RowBytes);
        _ids.Upload<int>(batch.Ids);
        _weights.Upload<float>(batch.Weights);
        _x.Upload<byte>(batch.X);
        Ids = _ids.As2D(EpDataType.Int32, _tokens, c.TopK);
        Weights = _weights.As2D(EpDataType.Float32, _tokens, c.TopK);
        X = _x.As2D(EpDataType.Float32, _tokens, c.Hidden);
        Y = _y.As2D(EpDataType.Float32, _tokens, c.Hidden);
        Rows = _rows.As3D(EpDataType.Float32, g.LocalExperts, (long)g.WorldSize * c.MaxTokensPerRank, c.Hidden);
        Out = _out.As3D(EpDataType.Float32, g.LocalExperts, (long)g.WorldSize * c.MaxTokensPerRank, c.Hidden);
    }

    public EpTensor Ids { get; }
    public EpTensor Weights { get; }
    public EpTensor X { get; }
    public EpTensor Y { get; }
    public EpTensor Rows { get; }

    /// <summary>The experts' outputs (<see cref="RunExperts"/>), what Combine reads.</summary>
    public EpTensor Out { get; }

    /// <summary>Runs this rank's experts on the rows <paramref name="handle"/> received into <see cref="Rows"/>, writing <see cref="Out"/>.</summary>
    public void RunExperts(EpHandle handle) => HostAffineExperts.Apply(handle, Rows, Out, EpPass.Forward);

    public void AssertCombined(uint[] expected)
    {
        var got = new uint[expected.Length];
        _y.Download<uint>(got);
        Assert.True(expected.SequenceEqual(got), "the combine of the rank left alone differs from the reference with the mask");
    }

    public void Dispose()
    {
        foreach (EpBuffer b in new[] { _ids, _weights, _x, _y, _rows, _out }) b.Dispose();
    }
}
