using System;
using NcclEp.Testing;

namespace NcclEp.Tests.TestSupport;

/// <summary>
/// One finished round trip on the Host backend (two ranks, forward and backward, the test experts between), whose
/// outputs on rank 0 all pass <see cref="RoundTripChecks"/>: the checks' tests corrupt one element of one output at a
/// time and call the check again.
/// </summary>
internal sealed class CheckRig : IDisposable
{
    public const int World = 2;
    public const byte Poison = 0xA5;
    private readonly EpGroup[] _groups;
    private readonly RankRig[] _rigs;
    private readonly HandleSnapshot[] _afterDispatch, _afterCombineBackward;

    public CheckRig(EpMode mode, EpLayout layout, int alignment, EpCombineReduction reduction, int seed)
    {
        Config = new EpConfig(mode, NumExperts: 8, Hidden: 512, TopK: 3, MaxTokensPerRank: 6, layout, ExpertAlignment: alignment)
        {
            CombineReduction = reduction,
        };
        var shape = new BufferShape(Config.Hidden, Config.Hidden, Config.Hidden, 0, Config.TopK, Config.TopK);
        _groups = EpGroup.CreateHost(Config, World);
        _rigs = Array.ConvertAll(_groups, g => new RankRig(g, shape));
        _afterDispatch = new HandleSnapshot[World];
        _afterCombineBackward = new HandleSnapshot[World];
        var batches = new RankBatch[World];
        for (int r = 0; r < World; r++)
            batches[r] = BatchGenerator.Uniform(new Random(CaseGenerator.Seed(seed, r)), Config, Config.MaxTokensPerRank - r, new RoutingStyle(8, 0.1, 1.0));
        Model = new ReferenceModel(Config, World, batches);
        RankThreads.RunOnce(World, RoundTrip, TimeSpan.FromMinutes(1));
    }

    public EpConfig Config { get; }
    public ReferenceModel Model { get; }
    public RankRig Rig => _rigs[0];
    public HandleSnapshot AfterDispatch => _afterDispatch[0];
    public HandleSnapshot AfterCombineBackward => _afterCombineBackward[0];
    public ExpectedReceive Expected => Model.Receive(0);

    private void RoundTrip(int rank)
    {
        RankRig rig = _rigs[rank];
        EpGroup g = rig.Group;
        EpHandle h = rig.Handle;
        RankBatch batch = Model.Batch(rank);
        int tokens = batch.Tokens;
        rig.UploadRouting(batch);
        rig.UploadHome(rig.X, batch.X, tokens, Poison);
        rig.UploadHome(rig.Grad, batch.Grad, tokens, Poison);
        foreach (EpBuffer b in new[] { rig.Received, rig.ExpertOut, rig.Combined, rig.LayoutGrad, rig.ExpertGrad, rig.TokenGrad }) b.Fill(Poison);
        h.Update(rig.IdsTensor(tokens), rig.WeightsTensor(tokens));
        g.Dispatch(h, rig.Home(rig.X, tokens), rig.Layout(rig.Received));
        _afterDispatch[rank] = HandleSnapshot.Take(h);
        HostAffineExperts.Apply(h, rig.Layout(rig.Received), rig.Layout(rig.ExpertOut), EpPass.Forward);
        g.Combine(h, rig.Layout(rig.ExpertOut), rig.Home(rig.Combined, tokens));
        g.Combine(h, rig.Layout(rig.LayoutGrad), rig.Home(rig.Grad, tokens), pass: EpPass.Backward);
        _afterCombineBackward[rank] = HandleSnapshot.Take(h);
        HostAffineExperts.Apply(h, rig.Layout(rig.LayoutGrad), rig.Layout(rig.ExpertGrad), EpPass.Backward);
        g.Dispatch(h, rig.Home(rig.TokenGrad, tokens), rig.Layout(rig.ExpertGrad), pass: EpPass.Backward);
    }

    /// <summary>Every check of rank 0's outputs, as the round-trip suites run them.</summary>
    public void CheckAll()
    {
        ExpectedReceive expected = Expected;
        int tokens = Model.Batch(0).Tokens;
        RoundTripChecks.Layout("dispatch", Rig, Rig.Received, expected, Model.DispatchedRow, Poison);
        RoundTripChecks.Metadata("dispatch", Config, AfterDispatch, Model, expected, 0);
        RoundTripChecks.Home("combine", Rig, Rig.Combined, Model.Combined(0), tokens, Poison);
        RoundTripChecks.Layout("combine backward", Rig, Rig.LayoutGrad, expected, Model.CombineBackwardRow, Poison);
        RoundTripChecks.Metadata("combine backward", Config, AfterCombineBackward, Model, expected, 0);
        RoundTripChecks.Home("dispatch backward", Rig, Rig.TokenGrad, Model.TokenGradient(0), tokens, Poison);
    }

    /// <summary>Flips the lowest bit of element <paramref name="element"/> of <paramref name="buffer"/>; returns a call that undoes it.</summary>
    public static Action FlipElement(EpBuffer buffer, EpDataType type, long element)
    {
        var bytes = new byte[buffer.Bytes];
        buffer.Download<byte>(bytes);
        byte[] original = (byte[])bytes.Clone();
        Numerics.WriteElement(bytes, element, type, Numerics.ElementBits(bytes, element, type) ^ 1u);
        buffer.Upload<byte>(bytes);
        return () => buffer.Upload<byte>(original);
    }

    public void Dispose()
    {
        foreach (RankRig rig in _rigs) rig.Dispose();
        foreach (EpGroup g in _groups) g.Dispose();
    }
}
