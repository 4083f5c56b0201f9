using System;

namespace NcclEp.GpuTests;

/// <summary>One point of the validation grid: a configuration and the tokens each rank passes.</summary>
internal sealed record GpuCase(EpMode Mode, EpLayout Layout, int World, int Hidden, int TopK, int Tokens, int Experts, EpDataType DataType, int Alignment = 1)
{
    /// <summary>Blocks per launch (EpConfig.NumSms) for every case of a run (--num-sms); 0 lets the backend choose.</summary>
    public static int NumSms { get; set; }

    public EpConfig Config(int maxTokens) =>
        new(Mode, Experts, Hidden, TopK, maxTokens, Layout, DataType,
            ExpertAlignment: Mode == EpMode.HighThroughput && Layout == EpLayout.ExpertMajor ? Alignment : 1, NumSms: NumSms);

    public override string ToString() =>
        $"{(Mode == EpMode.LowLatency ? "LL" : "HT")} {Layout} W={World} H={Hidden} K={TopK} T={Tokens} E={Experts} {DataType}{(Alignment > 1 ? $" A={Alignment}" : "")}";
}
