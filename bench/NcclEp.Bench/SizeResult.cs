using System;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>Everything one configuration (one token count, one numSms) measured.</summary>
internal sealed record SizeResult(
    EpConfig Config,
    int Ranks,
    int Iterations,
    int Warmups,
    PhaseStats Update,
    PhaseStats Dispatch,
    PhaseStats Combine,
    Traffic Traffic,
    ValidationSummary Validation,
    CeilingResult Ceiling,
    int Blocks)
{
    public int Tokens => Config.MaxTokensPerRank;

    /// <summary>The numSms this configuration asked for (0: the backend's choice).</summary>
    public int NumSms => Config.NumSms;

    /// <summary>All ranks' dispatch bytes over the slowest rank's median dispatch time.</summary>
    public double DispatchGBps => Units.GigabytesPerSecond(Traffic.DispatchBytes, Dispatch.MedianUs);

    /// <summary>All ranks' combine bytes over the slowest rank's median combine time.</summary>
    public double CombineGBps => Units.GigabytesPerSecond(Traffic.CombineBytes, Combine.MedianUs);

    /// <summary>Peer-copy ceiling time / dispatch time, in percent (NaN where the ceiling was not measured).</summary>
    public double DispatchPercentOfCeiling => CeilingResult.PercentOf(Ceiling.Dispatch, Dispatch, Ceiling.Measured);

    /// <summary>Peer-copy ceiling time / combine time, in percent (NaN where the ceiling was not measured).</summary>
    public double CombinePercentOfCeiling => CeilingResult.PercentOf(Ceiling.Combine, Combine, Ceiling.Measured);
}
