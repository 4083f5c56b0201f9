using System;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>Everything one configuration (one token count) measured.</summary>
internal sealed record SizeResult(
    EpConfig Config,
    int Ranks,
    int Iterations,
    int Warmups,
    PhaseStats Update,
    PhaseStats Dispatch,
    PhaseStats Combine,
    Traffic Traffic,
    ValidationSummary Validation)
{
    public int Tokens => Config.MaxTokensPerRank;

    /// <summary>All ranks' dispatch bytes over the slowest rank's median dispatch time.</summary>
    public double DispatchGBps => Units.GigabytesPerSecond(Traffic.DispatchBytes, Dispatch.MedianUs);

    /// <summary>All ranks' combine bytes over the slowest rank's median combine time.</summary>
    public double CombineGBps => Units.GigabytesPerSecond(Traffic.CombineBytes, Combine.MedianUs);
}
