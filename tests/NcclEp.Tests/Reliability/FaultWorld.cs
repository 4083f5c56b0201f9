using System;
using System.Linq;
using System.Threading;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests.Reliability;

/// <summary>The collective calls of one round trip, in the order they are made (each waits on the live peers).</summary>
public enum RoundStep
{
    /// <summary>Update (local) and Dispatch: waits on peers in phase DispatchReceive.</summary>
    Dispatch = 0,

    /// <summary>Combine: CombineReceive.</summary>
    Combine = 1,

    /// <summary>Combine(Backward): travels the dispatch route, so DispatchReceive.</summary>
    CombineBackward = 2,

    /// <summary>Dispatch(Backward): travels the combine route, so CombineReceive.</summary>
    DispatchBackward = 3,
}

/// <summary>
/// A Host-backend world for fault injection: groups, one <see cref="RankRig"/> per rank and the batches of the
/// current round, driven step by step from the rank threads so that a rank can stop between two calls. Every
/// output of a completed step is compared bit for bit with <see cref="ReferenceModel"/> under the mask the world
/// holds (<see cref="Model"/>), and everything outside the outputs must keep its poison.
/// </summary>
internal sealed class FaultWorld : IDisposable
{
    private readonly EpGroup[] _groups;
    private readonly RankRig[] _rigs;
    private readonly RankBatch[] _batches;
    private readonly RankState[] _state;
    private readonly bool[] _modelActive;

    public FaultWorld(EpConfig config, int world, TimeSpan timeout, BufferShape? shape = null)
    {
        Config = config;
        World = world;
        Timeout = timeout;
        Shape = shape ?? new BufferShape(config.Hidden, config.Hidden, config.Hidden, 0, config.TopK, config.TopK);
        _groups = EpGroup.CreateHost(config, world, new EpGroupOptions { PeerTimeout = timeout });
        _rigs = _groups.Select(g => new RankRig(g, Shape)).ToArray();
        _batches = new RankBatch[world];
        _state = Enumerable.Range(0, world).Select(_ => new RankState()).ToArray();
        _modelActive = Enumerable.Repeat(true, world).ToArray();
    }

    public EpConfig Config { get; }
    public int World { get; }
    public TimeSpan Timeout { get; }
    public BufferShape Shape { get; }

    public EpGroup Group(int rank) => _groups[rank];

    public EpHandle Handle(int rank) => _rigs[rank].Handle;

    /// <summary>Which ranks the reference treats as live (set by one rank between two barriers).</summary>
    public void SetModelMask(bool[] active) => Array.Copy(active, _modelActive, World);

    public bool IsModelActive(int rank) => _modelActive[rank];

    /// <summary>The reference for the current round's batches under the current mask.</summary>
    public ReferenceModel Model() => new(Config, World, _batches, _modelActive);

    /// <summary>This rank's batch for the round with <paramref name="seed"/> (empty for a masked rank); call before the round's barrier.</summary>
    public void Prepare(int rank, int seed)
    {
        _batches[rank] = _modelActive[rank]
            ? CaseGenerator.Batch(new Random(CaseGenerator.Seed(seed, rank, 41)), Config, World)
            : new RankBatch(0, Config.TopK, Config.Hidden, Config.DataType);
    }

    /// <summary>Uploads the batch and poisons every output of the round (after the barrier: reads no peer state).</summary>
    public void Begin(int rank, int seed)
    {
        RankRig rig = _rigs[rank];
        RankBatch batch = _batches[rank];
        RankState s = _state[rank];
        s.Poison = (seed % 3) == 0 ? (byte)0xFF : (byte)0xA5;
        s.Completed = -1;
        rig.UploadRouting(batch);
        rig.UploadHome(rig.X, batch.X, batch.Tokens, s.Poison);
        rig.UploadHome(rig.Grad, batch.Grad, batch.Tokens, s.Poison);
        foreach (EpBuffer b in new[] { rig.Received, rig.Combined, rig.LayoutGrad, rig.TokenGrad, rig.ExpertOut, rig.ExpertGrad }) b.Fill(s.Poison);
    }

    /// <summary>Makes the call of <paramref name="step"/> (with the local expert work before it); throws what the call throws.</summary>
    public void Step(int rank, RoundStep step)
    {
        RankRig rig = _rigs[rank];
        EpGroup g = rig.Group;
        EpHandle h = rig.Handle;
        RankState s = _state[rank];
        int tokens = _batches[rank].Tokens;
        switch (step)
        {
            case RoundStep.Dispatch:
                h.Update(rig.IdsTensor(tokens), rig.WeightsTensor(tokens));
                g.Dispatch(h, rig.Home(rig.X, tokens), rig.Layout(rig.Received));
                s.AfterDispatch = HandleSnapshot.Take(h);
                break;
            case RoundStep.Combine:
                HostAffineExperts.Apply(h, rig.Layout(rig.Received), rig.Layout(rig.ExpertOut), EpPass.Forward);
                g.Combine(h, rig.Layout(rig.ExpertOut), rig.Home(rig.Combined, tokens));
                break;
            case RoundStep.CombineBackward:
                g.Combine(h, rig.Layout(rig.LayoutGrad), rig.Home(rig.Grad, tokens), pass: EpPass.Backward);
                s.AfterCombineBackward = HandleSnapshot.Take(h);
                break;
            case RoundStep.DispatchBackward:
                HostAffineExperts.Apply(h, rig.Layout(rig.LayoutGrad), rig.Layout(rig.ExpertGrad), EpPass.Backward);
                g.Dispatch(h, rig.Home(rig.TokenGrad, tokens), rig.Layout(rig.ExpertGrad), pass: EpPass.Backward);
                break;
        }
        s.Completed = (int)step;
    }

    /// <summary>Compares every output of the steps this rank completed in the round with the reference under the current mask.</summary>
    public ReferenceModel CheckCompleted(int rank)
    {
        RankRig rig = _rigs[rank];
        RankState s = _state[rank];
        ReferenceModel model = Model();
        ExpectedReceive expected = model.Receive(rank);
        int tokens = _batches[rank].Tokens;
        if (s.Completed >= (int)RoundStep.Dispatch)
        {
            if (rig.Handle.NumTokens != tokens) RoundTripChecks.Fail($"NumTokens is {rig.Handle.NumTokens}, expected {tokens}");
            RoundTripChecks.Layout("dispatch", rig, rig.Received, expected, model.DispatchedRow, s.Poison);
            RoundTripChecks.Metadata("dispatch", Config, s.AfterDispatch!, model, expected, rank);
            for (int r = 0; r < World; r++)
            {
                if (!model.IsActive(r)) Assert.Equal(0, s.AfterDispatch!.RankCounts[r]);
            }
        }
        if (s.Completed >= (int)RoundStep.Combine)
            RoundTripChecks.Home("combine", rig, rig.Combined, model.Combined(rank), tokens, s.Poison);
        if (s.Completed >= (int)RoundStep.CombineBackward)
        {
            RoundTripChecks.Layout("combine backward", rig, rig.LayoutGrad, expected, model.CombineBackwardRow, s.Poison);
            RoundTripChecks.Metadata("combine backward", Config, s.AfterCombineBackward!, model, expected, rank);
        }
        if (s.Completed >= (int)RoundStep.DispatchBackward)
            RoundTripChecks.Home("dispatch backward", rig, rig.TokenGrad, model.TokenGradient(rank), tokens, s.Poison);
        return model;
    }

    /// <summary>
    /// One whole round trip on a live rank: batch, barrier, every call, checks, barrier. Returns how many of this
    /// rank's tokens had an expert on a rank the mask leaves out (they must have counted for nothing).
    /// </summary>
    public int RoundTrip(int rank, int seed, Barrier barrier)
    {
        Prepare(rank, seed);
        Sync(barrier);
        Begin(rank, seed);
        for (RoundStep step = RoundStep.Dispatch; step <= RoundStep.DispatchBackward; step++) Step(rank, step);
        ReferenceModel model = CheckCompleted(rank);
        int routedToMasked = 0;
        for (int t = 0; t < model.Batch(rank).Tokens; t++)
        {
            for (int r = 0; r < World; r++)
            {
                if (!model.IsActive(r) && model.SentTo(rank, t, r)) routedToMasked++;
            }
        }
        Sync(barrier);
        return routedToMasked;
    }

    public static void Sync(Barrier barrier)
    {
        if (!barrier.SignalAndWait(TimeSpan.FromSeconds(30))) throw new TimeoutException("rank barrier timed out (a rank failed or hung)");
    }

    public void Dispose()
    {
        foreach (RankRig rig in _rigs) rig.Dispose();
        foreach (EpGroup g in _groups) g.Dispose();
    }

    private sealed class RankState
    {
        public byte Poison;
        public int Completed = -1;
        public HandleSnapshot? AfterDispatch;
        public HandleSnapshot? AfterCombineBackward;
    }
}

