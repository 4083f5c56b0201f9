using System;
using System.Linq;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Tests.Infrastructure;

/// <summary>
/// A one-rank world driven from the test thread (no peer waits on it) with valid tensors for 3 tokens, for the
/// bad-input tests: each output buffer can be poisoned and checked, and the handle's state snapshotted.
/// </summary>
internal sealed class SingleRank : IDisposable
{
    public const int Tokens = 3;
    public const byte Poison = 0xA5;

    public SingleRank(EpConfig? config = null)
    {
        Config = config ?? new EpConfig(EpMode.LowLatency, NumExperts: 4, Hidden: 512, TopK: 2, MaxTokensPerRank: 4, EpLayout.ExpertMajor);
        Group = EpGroup.CreateHost(Config, 1)[0];
        Handle = Group.CreateHandle();
        int m = Config.MaxTokensPerRank, row = Config.RowBytes;
        Ids = Group.AllocateBuffer(m * Config.TopK * 4);
        Weights = Group.AllocateBuffer(m * Config.TopK * 4);
        X = Group.AllocateBuffer((long)m * row * 2);
        Received = Group.AllocateBuffer((Config.ReceiveRows(1) + 4) * row);
        ExpertOut = Group.AllocateBuffer((Config.ReceiveRows(1) + 4) * row);
        Combined = Group.AllocateBuffer((long)m * row * 2);
        var ids = new int[m * Config.TopK];
        for (int t = 0; t < m; t++)
        {
            for (int k = 0; k < Config.TopK; k++) ids[(t * Config.TopK) + k] = (t + k) % Config.NumExperts;
        }
        ids[3] = -1;
        Ids.Upload<int>(ids);
        Weights.Upload<float>(Enumerable.Range(0, ids.Length).Select(i => 0.25f * (i + 1)).ToArray());
        var x = new byte[(long)m * row * 2];
        BatchGenerator.FillRows(new Random(3), x, Config.DataType);
        X.Upload<byte>(x);
    }

    public EpConfig Config { get; }
    public EpGroup Group { get; }
    public EpHandle Handle { get; }
    public EpBuffer Ids { get; }
    public EpBuffer Weights { get; }
    public EpBuffer X { get; }
    public EpBuffer Received { get; }
    public EpBuffer ExpertOut { get; }
    public EpBuffer Combined { get; }

    public EpTensor IdsT(int tokens = Tokens) => Ids.As2D(EpDataType.Int32, tokens, Config.TopK);
    public EpTensor WeightsT(int tokens = Tokens) => Weights.As2D(EpDataType.Float32, tokens, Config.TopK);
    public EpTensor XT(int tokens = Tokens) => X.As2D(Config.DataType, tokens, Config.Hidden);
    public EpTensor CombinedT(int tokens = Tokens) => Combined.As2D(Config.DataType, tokens, Config.Hidden);

    /// <summary>The dispatch output descriptor the group expects.</summary>
    public EpTensor ReceivedT => LayoutOf(Received);

    private EpTensor LayoutOf(EpBuffer b) => Config.Mode == EpMode.LowLatency
        ? b.As3D(Config.DataType, Config.Layout == EpLayout.RankMajor ? 1 : Group.LocalExperts, Config.MaxTokensPerRank, Config.Hidden)
        : b.As2D(Config.DataType, Config.ReceiveRows(1), Config.Hidden);

    /// <summary>The tests' experts of <paramref name="handle"/>'s rank over its dispatch output <paramref name="rows"/>, in place (as a caller would run them on window rows).</summary>
    public static void ExpertsInPlace(EpHandle handle, in EpTensor rows) => HostAffineExperts.Apply(handle, rows, rows, EpPass.Forward);

    public void Route() => Handle.Update(IdsT(), WeightsT());

    public void RouteAndDispatch()
    {
        Route();
        Group.Dispatch(Handle, XT(), ReceivedT);
    }

    /// <summary>Dispatches x, runs the experts and combines their outputs back with the handle's routing; returns the output bytes.</summary>
    public byte[] CombineNow()
    {
        Group.Dispatch(Handle, XT(Handle.NumTokens), ReceivedT);
        HostAffineExperts.Apply(Handle, ReceivedT, LayoutOf(ExpertOut), EpPass.Forward);
        Group.Combine(Handle, LayoutOf(ExpertOut), CombinedT(Handle.NumTokens));
        var bytes = new byte[Handle.NumTokens * Config.RowBytes];
        Combined.Download<byte>(bytes);
        return bytes;
    }

    public void PoisonOutputs()
    {
        Received.Fill(Poison);
        Combined.Fill(Poison);
    }

    public static void AssertPoisoned(EpBuffer buffer)
    {
        var bytes = new byte[buffer.Bytes];
        buffer.Download<byte>(bytes);
        int written = bytes.AsSpan().IndexOfAnyExcept(Poison);
        Assert.True(written < 0, $"byte {written} of a buffer was written by a rejected call");
    }

    /// <summary>Everything observable about the handle: tokens and every receive-side tensor, as bytes.</summary>
    public byte[] HandleState()
    {
        EpHandle h = Handle;
        return BitConverter.GetBytes(h.NumTokens)
            .Concat(HostView.Bytes(h.ReceivedRankCounts)).Concat(HostView.Bytes(h.ReceivedExpertCounts))
            .Concat(HostView.Bytes(h.ReceivedExpertOffsets)).Concat(HostView.Bytes(h.ReceivedTotal))
            .Concat(HostView.Bytes(h.ReceivedSourceInfo)).Concat(HostView.Bytes(h.ReceivedTopKIds)).ToArray();
    }

    /// <summary>
    /// Asserts the call throws exactly <typeparamref name="TException"/> naming <paramref name="param"/> (in
    /// ParamName and in the message itself), and that it wrote nothing: outputs keep their poison and the handle
    /// reads as before.
    /// </summary>
    public TException AssertRejected<TException>(string param, Action call) where TException : ArgumentException
    {
        PoisonOutputs();
        byte[] before = HandleState();
        TException ex = Assert.Throws<TException>(call);
        Assert.Equal(param, ex.ParamName);
        Assert.Contains(param, ex.Message.Replace($"(Parameter '{param}')", "", StringComparison.Ordinal), StringComparison.Ordinal);
        AssertPoisoned(Received);
        AssertPoisoned(Combined);
        Assert.Equal(before, HandleState());
        return ex;
    }

    public void Dispose()
    {
        foreach (EpBuffer b in new[] { Ids, Weights, X, Received, ExpertOut, Combined }) b.Dispose();
        Handle.Dispose();
        Group.Dispose();
    }
}
