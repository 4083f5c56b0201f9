using System;
using System.Collections.Generic;
using System.Linq;
using NcclEp.Testing;

namespace NcclEp.Tests.Protocol;

/// <summary>What one step of a script does.</summary>
internal enum StepKind
{
    /// <summary>Loads the round's routing and first rows, then Update.</summary>
    Update,

    /// <summary>Dispatch of the round's rows of this version (re-uploaded when the version changes).</summary>
    Dispatch,

    /// <summary>Combine of this step's experts.</summary>
    Combine,

    /// <summary>Dispatch(Backward): the combine route, unweighted.</summary>
    DispatchBackward,
}

/// <summary>One call every rank makes, in the same order on every rank.</summary>
/// <param name="Kind">The call.</param>
/// <param name="Round">Which routing (batch) it uses.</param>
/// <param name="Rows">Which version of the round's token rows the last dispatch sent.</param>
/// <param name="Op">Unique number of the step: the experts of a combine-route step depend on it.</param>
internal readonly record struct ScriptStep(StepKind Kind, int Round, int Rows, int Op);

/// <summary>How tokens are routed in a script.</summary>
internal enum Routing
{
    /// <summary>Random routing (hot experts, "no expert" slots, empty batches: <see cref="CaseGenerator.Batch"/>).</summary>
    Random,

    /// <summary>W = 2: rank 0's tokens all go to rank 1's experts; rank 1's tokens all stay on rank 1.</summary>
    OneSided,
}

/// <summary>
/// A seeded sequence of data-path calls with their inputs, the same on every rank, run without any barrier between the
/// calls or the rounds: rounds of Update, Dispatch, 3–6 Combines in a row, sometimes a second Dispatch of new rows and
/// more Combines, sometimes Dispatch(Backward)s. Every rank's inputs of every round are drawn up front, so each rank can
/// check its own outputs right after each call.
/// </summary>
internal sealed class OutOfStepScript
{
    private readonly RankBatch[][][] _batches;  // [round][rows version][rank]

    public OutOfStepScript(EpConfig config, int world, Routing routing, int seed, int rounds, int minCombines, int maxCombines)
    {
        Config = config;
        World = world;
        var rng = new Random(seed);
        var steps = new List<ScriptStep>();
        _batches = new RankBatch[rounds][][];
        int op = 0;
        for (int round = 0; round < rounds; round++)
        {
            int versions = rng.Next(2) + 1;
            _batches[round] = new RankBatch[versions][];
            RankBatch[] routed = Enumerable.Range(0, world).Select(r => Route(routing, new Random(CaseGenerator.Seed(seed, round, r)), r)).ToArray();
            for (int v = 0; v < versions; v++)
            {
                _batches[round][v] = routed.Select((b, r) => WithRows(b, new Random(CaseGenerator.Seed(seed, round, v, r, 3)))).ToArray();
                if (v == 0) steps.Add(new ScriptStep(StepKind.Update, round, 0, op++));
                steps.Add(new ScriptStep(StepKind.Dispatch, round, v, op++));
                int combines = rng.Next(minCombines, maxCombines + 1);
                for (int c = 0; c < combines; c++) steps.Add(new ScriptStep(StepKind.Combine, round, v, op++));
                for (int b = rng.Next(3); b > 0; b--) steps.Add(new ScriptStep(StepKind.DispatchBackward, round, v, op++));
            }
        }
        Steps = steps;
    }

    public EpConfig Config { get; }
    public int World { get; }
    public IReadOnlyList<ScriptStep> Steps { get; }

    /// <summary>Every rank's batch for <paramref name="step"/>'s round and rows version.</summary>
    public RankBatch[] Batches(ScriptStep step) => _batches[step.Round][step.Rows];

    /// <summary>How many combine-route steps in a row follow a dispatch, at most (what the script proves about running ahead).</summary>
    public int LongestCombineRun()
    {
        int longest = 0, run = 0;
        foreach (ScriptStep s in Steps)
        {
            run = s.Kind is StepKind.Combine or StepKind.DispatchBackward ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }
        return longest;
    }

    private RankBatch Route(Routing routing, Random rng, int rank)
    {
        if (routing == Routing.Random) return CaseGenerator.Batch(rng, Config, World);
        int k = Config.TopK, local = Config.LocalExperts(World), m = Config.MaxTokensPerRank;
        int tokens = rng.Next(1, m + 1);
        var batch = new RankBatch(tokens, k, Config.Hidden, Config.DataType);
        for (int t = 0; t < tokens; t++)
        {
            int[] experts = Enumerable.Range(local, local).OrderBy(_ => rng.Next()).ToArray();  // rank 1's experts only
            for (int slot = 0; slot < k; slot++)
            {
                batch.Ids[(t * k) + slot] = slot < experts.Length ? experts[slot] : -1;
                batch.Weights[(t * k) + slot] = (float)(rng.NextDouble() * 2) - 0.5f;
            }
        }
        return batch;
    }

    private RankBatch WithRows(RankBatch routed, Random rng)
    {
        var batch = new RankBatch(routed.Tokens, Config.TopK, Config.Hidden, Config.DataType);
        routed.Ids.CopyTo(batch.Ids, 0);
        routed.Weights.CopyTo(batch.Weights, 0);
        BatchGenerator.FillRows(rng, batch.X, Config.DataType);
        return batch;
    }
}
