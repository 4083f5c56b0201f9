using System;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>
/// A configuration the library refuses (EpConfig's checks), worded with the bench's option names and nothing else
/// that is not the problem: the token count is named only when the tokens are at fault.
/// </summary>
internal static class ConfigOptionErrors
{
    /// <summary>The message for <paramref name="problem"/> of the run's configuration at <paramref name="point"/>.</summary>
    public static string Describe(EpConfigProblem problem, BenchOptions o, RunPoint point)
    {
        string ranks = RanksOption(o);
        string mode = o.Sweep is not null ? $"--sweep {BenchNames.Mode(o.EffectiveMode)}"
            : o.Mode is not null ? $"--mode {BenchNames.Mode(o.EffectiveMode)}"
            : "--mode ll (the default)";
        return problem.Rule switch
        {
            EpConfigRule.WorldSize => $"{ranks} must be 1..{EpConfig.MaxWorldSize}, not {o.Ranks}.",
            EpConfigRule.ModeUndefined => "--mode must be ll or ht.",
            EpConfigRule.LayoutForMode =>
                $"--layout {BenchNames.Layout(o.Layout)} does not go with {mode}: ll takes expert-major or rank-major, ht takes flat or expert-major.",
            EpConfigRule.DataType => "--dtype must be bf16, fp32 or fp8.",
            EpConfigRule.Quantization => "--fp8-scales must be fp32, pow2 or ue8m0.",
            EpConfigRule.QuantizationHidden =>
                $"--hidden must be a multiple of {EpConfig.UE8M0HiddenGranularity} with --fp8-scales ue8m0 (4 scales of 128 channels per word), not {o.Hidden}.",
            EpConfigRule.Hidden =>
                $"--hidden must be a multiple of {EpConfig.HiddenGranularity} from {EpConfig.MinHidden} to {EpConfig.MaxHidden}, not {o.Hidden}.",
            EpConfigRule.TopK => $"--topk must be 1..{EpConfig.MaxTopK}, not {o.TopK}.",
            EpConfigRule.ExpertsPerRank => $"--experts must be a positive multiple of {ranks} ({o.Ranks}), not {o.Experts}.",
            EpConfigRule.TopKAboveExperts => $"--topk must not exceed --experts ({o.Experts}), not {o.TopK}: a token picks distinct experts.",
            EpConfigRule.Tokens => $"--tokens must be 1..{EpConfig.MaxTokens}, not {point.Tokens}.",
            EpConfigRule.NumSms => point.NumSms == o.NumSms
                ? $"--num-sms must be 0 (the backend chooses) to {EpConfig.MaxNumSms}, not {o.NumSms}."
                : $"{SmsSweepList.OptionName} value {point.NumSms} must be 1 to {EpConfig.MaxNumSms}.",
            EpConfigRule.Alignment => $"--align must be 1..{EpConfig.MaxExpertAlignment}, not {o.Align}.",
            EpConfigRule.AlignmentLayout =>
                $"--align {o.Align} pads the expert segments of --mode ht --layout expert-major only; leave it out with {mode} --layout {BenchNames.Layout(o.Layout)}.",
            EpConfigRule.CombineReductionUndefined => "--combine must be per-slot or per-rank.",
            EpConfigRule.CombineReductionLayout =>
                $"--combine per-rank sends per-rank partials of --layout expert-major only; --layout {BenchNames.Layout(o.Layout)} already sends one row per (token, rank): leave --combine out.",
            _ => $"{Tokens(o, point)} with {ranks} {o.Ranks} and --experts {o.Experts} would need {problem.Value} rows of dispatch output, " +
                "more than 2^31-1; lower --tokens.",
        };
    }

    /// <summary>The option that set the number of ranks: <c>--procs</c>, a child's <c>--world</c>, or <c>--ranks</c>.</summary>
    private static string RanksOption(BenchOptions o) => o.Procs > 0 ? "--procs" : o.World is not null ? "--world" : "--ranks";

    /// <summary><c>--tokens N</c>, or the sweep's size when sweeping (the sizes are the sweep's, not an option's).</summary>
    private static string Tokens(BenchOptions o, RunPoint point) =>
        o.Sweep is null ? $"--tokens {point.Tokens}" : $"--sweep {BenchNames.Mode(o.EffectiveMode)} at {point.Tokens} tokens/rank";
}
