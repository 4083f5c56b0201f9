using System;
using System.Collections.Generic;
using System.Linq;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>What one step of a protocol script does.</summary>
internal enum ProtocolStepKind
{
    /// <summary>Uploads the round's routing and rows, then Update.</summary>
    Update,

    /// <summary>Dispatch, then (the expert step) a Synchronize, the outputs read back, and the experts' outputs of the
    /// combine-route steps that follow computed and uploaded, one buffer each.</summary>
    Dispatch,

    /// <summary>Combine of this step's experts into this step's own output buffer.</summary>
    Combine,

    /// <summary>Dispatch(Backward) of this step's rows (the combine route, unweighted) into this step's own buffer.</summary>
    DispatchBackward,
}

/// <summary>
/// One call, the same on every rank; <paramref name="Op"/> numbers the step (the experts of a combine-route step depend on
/// it) and <paramref name="Slot"/> is its output buffer among the combine-route steps after the same dispatch.
/// </summary>
internal readonly record struct ProtocolStep(ProtocolStepKind Kind, int Round, int Op, int Slot);

/// <summary>
/// The calls of a protocol case, every rank's inputs per round, and the delays before each rank's calls (a spin kernel
/// on the rank's stream on Cuda, a sleep on the Host): no barrier separates any two calls, so the ranks run as far out
/// of step as the protocol lets them. Combine-route steps after one dispatch are launched back to back; the results are
/// read after the last of them.
/// </summary>
internal sealed class ProtocolScript
{
    private readonly RankBatch[][] _inputs;  // [round][rank]
    private readonly long[][] _delayNs;       // [rank][step]
    private readonly bool[][] _onHost;        // [rank][step]: held by a sleep before the launch rather than a spin kernel

    private ProtocolScript(string name, EpConfig config, int world, List<ProtocolStep> steps, RankBatch[][] inputs, long[][] delayNs, bool[][] onHost)
    {
        Name = name;
        Config = config;
        World = world;
        Steps = steps;
        _inputs = inputs;
        _delayNs = delayNs;
        _onHost = onHost;
    }

    public string Name { get; }
    public EpConfig Config { get; }
    public int World { get; }
    public IReadOnlyList<ProtocolStep> Steps { get; }

    /// <summary>Most combine-route steps after one dispatch (output buffers per rank).</summary>
    public int Slots => Steps.Count == 0 ? 0 : Steps.Max(s => s.Slot) + 1;

    public RankBatch Inputs(int round, int rank) => _inputs[round][rank];

    /// <summary>How long rank <paramref name="rank"/> is held before step <paramref name="step"/> (0: not at all).</summary>
    public long DelayNs(int rank, int step) => _delayNs[rank][step];

    /// <summary>Whether that hold is a sleep of the rank's thread before its launch (else a spin kernel on its stream).</summary>
    public bool HoldOnHost(int rank, int step) => _onHost[rank][step];

    /// <summary>
    /// W = 2: rank 0's tokens all go to rank 1's experts, rank 1's stay on rank 1 (it sends rank 0 no token, so only the
    /// presence rule keeps it from running ahead). One Update and Dispatch, then <paramref name="combines"/> Combines in
    /// a row; rank 0 is held <paramref name="receiverDelayNs"/> before each (a spin kernel), rank 1
    /// <paramref name="senderDelayNs"/> before its Dispatch (a sleep before the launch).
    /// </summary>
    public static ProtocolScript OneSided(EpConfig config, int combines, long receiverDelayNs, long senderDelayNs, int seed)
    {
        int local = config.LocalExperts(2);
        var random = new Random(seed);
        var inputs = new RankBatch[2];
        for (int r = 0; r < 2; r++)
        {
            inputs[r] = GpuCase.Batch(config, config.MaxTokensPerRank - r, seed * 10 + r);
            for (int t = 0; t < inputs[r].Tokens; t++)
            {
                int[] experts = Enumerable.Range(local, local).OrderBy(_ => random.Next()).ToArray();  // rank 1's experts only
                for (int k = 0; k < config.TopK; k++) inputs[r].Ids[(t * config.TopK) + k] = k < experts.Length ? experts[k] : -1;
            }
        }
        var steps = new List<ProtocolStep> { new(ProtocolStepKind.Update, 0, 0, 0), new(ProtocolStepKind.Dispatch, 0, 1, 0) };
        for (int c = 0; c < combines; c++) steps.Add(new ProtocolStep(ProtocolStepKind.Combine, 0, 2 + c, c));
        var delays = new long[2][];
        delays[0] = steps.Select(s => s.Kind == ProtocolStepKind.Combine ? receiverDelayNs : 0).ToArray();
        delays[1] = steps.Select(s => s.Kind == ProtocolStepKind.Dispatch ? senderDelayNs : 0).ToArray();
        bool[][] onHost = [new bool[steps.Count], steps.Select(s => s.Kind == ProtocolStepKind.Dispatch).ToArray()];
        string name = $"W=2 one-sided {Describe(config)}: {combines} combines in a row after one dispatch, rank 0 held {receiverDelayNs / 1e6:0.#} ms by a spin kernel before each" +
            (senderDelayNs > 0 ? $", rank 1 held {senderDelayNs / 1e6:0.#} ms on the host before its dispatch" : "");
        return new ProtocolScript(name, config, 2, steps, [inputs], delays, onHost);
    }

    /// <summary>
    /// Random routing on <paramref name="world"/> ranks: <paramref name="rounds"/> rounds back to back, each Update,
    /// Dispatch, 3–6 Combines and 0–2 Dispatch(Backward)s; every rank is held 0–<paramref name="maxDelayNs"/> before
    /// about a third of its calls, by a spin kernel or (one time in four) a sleep before the launch.
    /// </summary>
    public static ProtocolScript BackToBack(EpConfig config, int world, int rounds, long maxDelayNs, int seed)
    {
        var random = new Random(seed);
        var steps = new List<ProtocolStep>();
        var inputs = new RankBatch[rounds][];
        int op = 0;
        for (int round = 0; round < rounds; round++)
        {
            inputs[round] = Enumerable.Range(0, world)
                .Select(r => GpuCase.Batch(config, random.Next(config.MaxTokensPerRank + 1), (seed * 1000) + (round * 10) + r)).ToArray();
            steps.Add(new ProtocolStep(ProtocolStepKind.Update, round, op++, 0));
            steps.Add(new ProtocolStep(ProtocolStepKind.Dispatch, round, op++, 0));
            int slot = 0;
            for (int c = random.Next(3, 7); c > 0; c--) steps.Add(new ProtocolStep(ProtocolStepKind.Combine, round, op++, slot++));
            for (int b = random.Next(3); b > 0; b--) steps.Add(new ProtocolStep(ProtocolStepKind.DispatchBackward, round, op++, slot++));
        }
        long[][] delays = Enumerable.Range(0, world)
            .Select(_ => steps.Select(_ => random.Next(3) == 0 ? (long)(random.NextDouble() * maxDelayNs) : 0L).ToArray()).ToArray();
        bool[][] onHost = Enumerable.Range(0, world).Select(_ => steps.Select(_ => random.Next(4) == 0).ToArray()).ToArray();
        string name = $"W={world} random routing {Describe(config)}: {rounds} rounds back to back ({steps.Count} calls), 3-6 combines and 0-2 Dispatch(Backward) per dispatch, every rank held 0-{maxDelayNs / 1e6:0.#} ms before a third of its calls";
        return new ProtocolScript(name, config, world, steps, inputs, delays, onHost);
    }

    private static string Describe(EpConfig c) =>
        $"{(c.Mode == EpMode.LowLatency ? "LL" : "HT")} {c.Layout} H={c.Hidden} K={c.TopK} T={c.MaxTokensPerRank} E={c.NumExperts} {c.DataType}";
}
