using System;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// One point of the validation grid: a configuration and the tokens each rank passes. <paramref name="Routed"/>: the side
/// under test dispatches with the call that routes itself (one launch up to 128 tokens on Cuda), the Host oracle with
/// Update, then Dispatch.
/// </summary>
internal sealed record GpuCase(EpMode Mode, EpLayout Layout, int World, int Hidden, int TopK, int Tokens, int Experts, EpDataType DataType, int Alignment = 1,
    EpCombineReduction Reduction = EpCombineReduction.PerSlot, bool Routed = false)
{
    /// <summary>Blocks per launch (EpConfig.NumSms) for every case of a run (--num-sms); 0 lets the backend choose.</summary>
    public static int NumSms { get; set; }

    public EpConfig Config(int maxTokens) =>
        new(Mode, Experts, Hidden, TopK, maxTokens, Layout, DataType,
            ExpertAlignment: Mode == EpMode.HighThroughput && Layout == EpLayout.ExpertMajor ? Alignment : 1, NumSms: NumSms)
        {
            CombineReduction = Reduction,
        };

    /// <summary>Random inputs of one rank (distinct expert ids with one slot in ten -1, mixed-sign weights, rows and gradient rows).</summary>
    public RankBatch Batch(int tokens, int seed) => Batch(Config(Math.Max(1, tokens)), tokens, seed);

    /// <summary>As <see cref="Batch(int, int)"/> for a configuration.</summary>
    public static RankBatch Batch(in EpConfig config, int tokens, int seed) =>
        BatchGenerator.Uniform(new Random(seed), config, tokens, RoutingStyle.Mixed);

    public override string ToString() =>
        $"{(Mode == EpMode.LowLatency ? "LL" : "HT")} {Layout} W={World} H={Hidden} K={TopK} T={Tokens} E={Experts} {DataType}{(Alignment > 1 ? $" A={Alignment}" : "")}" +
        (Reduction == EpCombineReduction.PerRank ? " partials" : "") + (Routed ? " routed" : "");
}
