using System;
using System.Collections.Generic;
using NcclEp.Graphs;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests.Graphs;

/// <summary>
/// Two Host groups of one configuration side by side: one whose ranks capture and replay the step, one whose ranks
/// run it eagerly, each rank with a <see cref="GraphRankRig"/>, driven by long-lived rank threads. Every replay is
/// compared with the eager step, and the eager step's outputs with <see cref="ReferenceModel"/>.
/// </summary>
internal sealed class GraphWorld : IDisposable
{
    private readonly EpGroup[] _graphGroups, _eagerGroups;
    private readonly RankBatch?[] _batches;

    public GraphWorld(EpConfig config, int world)
    {
        Config = config;
        World = world;
        _graphGroups = EpGroup.CreateHost(config, world);
        _eagerGroups = EpGroup.CreateHost(config, world);
        GraphRigs = new GraphRankRig[world];
        EagerRigs = new GraphRankRig[world];
        Graphs = new EpGraph[world];
        Tokens = new int[world];
        _batches = new RankBatch?[world];
        for (int r = 0; r < world; r++)
        {
            GraphRigs[r] = new GraphRankRig(_graphGroups[r]);
            EagerRigs[r] = new GraphRankRig(_eagerGroups[r]);
            // Senders differ: a full batch, one short of it, and (on the third rank) none at all.
            Tokens[r] = r == 2 ? 0 : config.MaxTokensPerRank - (r % 2);
        }
        Threads = new RankThreads(world);
    }

    public EpConfig Config { get; }
    public int World { get; }
    public int[] Tokens { get; }
    public GraphRankRig[] GraphRigs { get; }
    public GraphRankRig[] EagerRigs { get; }
    public EpGraph[] Graphs { get; }
    public RankThreads Threads { get; }

    /// <summary>Every rank captures the step over its graph rig (on its own thread); <paramref name="routed"/>: its dispatch routes itself.</summary>
    public void CaptureAll(bool backward = true, bool routed = false) => Threads.Run(r =>
    {
        MoeTrainingStep step = GraphRigs[r].Step(Tokens[r], backward, routed);
        Graphs[r] = EpGraph.Capture(GraphRigs[r].Group, default, ref step);
    });

    /// <summary>New random inputs of the captured shapes, written into both worlds' buffers.</summary>
    public void UploadNewInputs(Random rng)
    {
        for (int r = 0; r < World; r++)
        {
            RankBatch batch = _batches[r] = FixedBatch(rng, Config, Tokens[r]);
            GraphRigs[r].Upload(batch);
            EagerRigs[r].Upload(batch);
        }
    }

    /// <summary>
    /// Replays on every rank, runs the step eagerly on every rank, asserts every output equal, byte for byte, and the
    /// eager outputs (combined rows and token gradient) equal to the reference's for the inputs last uploaded.
    /// </summary>
    public void ReplayAndCompare(string round, bool backward = true)
    {
        Threads.Run(r => Graphs[r].Replay());
        Threads.Run(r => EagerRigs[r].RunEager(Tokens[r], backward));
        AssertOutputsEqual(round, backward);
        AssertEagerMatchesReference(round, backward);
    }

    /// <summary>The eager step's combined rows (and token gradient) equal <see cref="ReferenceModel"/>'s, bit for bit.</summary>
    public void AssertEagerMatchesReference(string round, bool backward = true)
    {
        var model = new ReferenceModel(Config, World, Array.ConvertAll(_batches, b => b ?? throw new InvalidOperationException("no inputs uploaded")));
        for (int r = 0; r < World; r++)
        {
            RankResult eager = EagerRigs[r].Snapshot(Tokens[r], backward);
            AssertBits(model.Combined(r), eager.Parts["combined"], $"{round}, rank {r}: combined");
            if (backward) AssertBits(model.TokenGradient(r), eager.Parts["gradX"], $"{round}, rank {r}: token gradient");
        }
    }

    private void AssertBits(uint[] expected, byte[] actual, string what)
    {
        byte[] want = Numerics.ElementBytes(expected, Config.DataType);
        int at = want.AsSpan().CommonPrefixLength(actual);
        Assert.True(at == want.Length && want.Length == actual.Length, $"{what} differs from the reference at byte {at} of {want.Length}");
    }

    public void AssertOutputsEqual(string round, bool backward = true)
    {
        for (int r = 0; r < World; r++)
            AssertSame(EagerRigs[r].Snapshot(Tokens[r], backward), GraphRigs[r].Snapshot(Tokens[r], backward), $"{round}, rank {r}");
    }

    /// <summary>Asserts two snapshots hold the same outputs, byte for byte, naming the first difference.</summary>
    public static void AssertSame(RankResult expected, RankResult actual, string where)
    {
        string? difference = ResultCompare.FirstDifference([expected], [actual], "eager", "replay");
        Assert.True(difference is null, $"{where}: {difference}");
    }

    /// <summary>A batch of exactly <paramref name="tokens"/> tokens: distinct ids per token (about one in five -1), mixed-sign weights, non-zero rows.</summary>
    public static RankBatch FixedBatch(Random rng, EpConfig config, int tokens) =>
        BatchGenerator.Uniform(rng, config, tokens, new RoutingStyle(NoneOneIn: 5, MinWeight: -0.5, MaxWeight: 1.5));

    public void Dispose()
    {
        Threads.Dispose();
        foreach (EpGraph? g in Graphs) g?.Dispose();
        foreach (GraphRankRig rig in GraphRigs) rig.Dispose();
        foreach (GraphRankRig rig in EagerRigs) rig.Dispose();
        foreach (EpGroup g in _graphGroups) g.Dispose();
        foreach (EpGroup g in _eagerGroups) g.Dispose();
    }
}
