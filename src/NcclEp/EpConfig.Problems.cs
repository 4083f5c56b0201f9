using System;

namespace NcclEp;

/// <summary>The checks of <see cref="EpConfig.Validate"/>, kept apart from their wording.</summary>
public readonly partial record struct EpConfig
{
    /// <summary>
    /// The first field the kernels cannot serve, or null. One list of checks, two wordings: <see cref="Validate"/>
    /// names the API's fields; the bench names its command-line options (NcclEp.Bench's ConfigOptionErrors).
    /// </summary>
    internal EpConfigProblem? FindProblem(int worldSize)
    {
        if (worldSize < 1 || worldSize > MaxWorldSize) return new(EpConfigRule.WorldSize, nameof(worldSize), worldSize);
        if (!Enum.IsDefined(Mode)) return new(EpConfigRule.ModeUndefined, nameof(Mode), (int)Mode);
        if (!IsLayoutValid(Mode, Layout)) return new(EpConfigRule.LayoutForMode, nameof(Layout), (int)Layout);
        if (DataType is not (EpDataType.BFloat16 or EpDataType.Float32)) return new(EpConfigRule.DataType, nameof(DataType), (int)DataType);
        if (Hidden < MinHidden || Hidden > MaxHidden || Hidden % HiddenGranularity != 0) return new(EpConfigRule.Hidden, nameof(Hidden), Hidden);
        if (TopK < 1 || TopK > MaxTopK) return new(EpConfigRule.TopK, nameof(TopK), TopK);
        if (NumExperts < 1 || NumExperts % worldSize != 0) return new(EpConfigRule.ExpertsPerRank, nameof(NumExperts), NumExperts);
        if (TopK > NumExperts) return new(EpConfigRule.TopKAboveExperts, nameof(TopK), TopK);
        if (MaxTokensPerRank < 1 || MaxTokensPerRank > MaxTokens) return new(EpConfigRule.Tokens, nameof(MaxTokensPerRank), MaxTokensPerRank);
        if (NumSms < 0 || NumSms > MaxNumSms) return new(EpConfigRule.NumSms, nameof(NumSms), NumSms);
        if (ExpertAlignment < 1 || ExpertAlignment > MaxExpertAlignment) return new(EpConfigRule.Alignment, nameof(ExpertAlignment), ExpertAlignment);
        if (ExpertAlignment != 1 && !(Mode == EpMode.HighThroughput && Layout == EpLayout.ExpertMajor))
            return new(EpConfigRule.AlignmentLayout, nameof(ExpertAlignment), ExpertAlignment);
        if (!Enum.IsDefined(DispatchQuantization)) return new(EpConfigRule.Quantization, nameof(DispatchQuantization), (int)DispatchQuantization);
        if (DispatchQuantization == EpDispatchQuantization.Float8E4M3UE8M0 && Hidden % UE8M0HiddenGranularity != 0)
            return new(EpConfigRule.QuantizationHidden, nameof(Hidden), Hidden);
        if (!Enum.IsDefined(CombineReduction)) return new(EpConfigRule.CombineReductionUndefined, nameof(CombineReduction), (int)CombineReduction);
        if (CombineReduction == EpCombineReduction.PerRank && Layout != EpLayout.ExpertMajor)
            return new(EpConfigRule.CombineReductionLayout, nameof(CombineReduction), (int)CombineReduction);
        if (ReceiveRows(worldSize) > int.MaxValue) return new(EpConfigRule.ReceiveRows, nameof(MaxTokensPerRank), ReceiveRows(worldSize));
        return null;
    }

    /// <summary>Largest <see cref="MaxTokensPerRank"/>.</summary>
    internal const int MaxTokens = 1 << 20;

    /// <summary>Largest <see cref="NumSms"/>.</summary>
    internal const int MaxNumSms = 1024;

    /// <summary><see cref="Hidden"/> must be a multiple of this with <see cref="EpDispatchQuantization.Float8E4M3UE8M0"/> (4 scales of 128 channels per word).</summary>
    public const int UE8M0HiddenGranularity = EpQuantization.GroupSize * EpQuantization.PackedGroups;
}

/// <summary>Which check of <see cref="EpConfig.Validate"/> failed.</summary>
internal enum EpConfigRule
{
    WorldSize,
    ModeUndefined,
    LayoutForMode,
    DataType,
    Hidden,
    TopK,
    ExpertsPerRank,
    TopKAboveExperts,
    Tokens,
    NumSms,
    Alignment,
    AlignmentLayout,
    CombineReductionUndefined,
    CombineReductionLayout,
    ReceiveRows,
    Quantization,
    QuantizationHidden,
}

/// <summary>A failed check: the rule, the field (or parameter) it names, and that field's value.</summary>
internal readonly record struct EpConfigProblem(EpConfigRule Rule, string Field, long Value)
{
    /// <summary>Throws the API's exception: the field's name as the parameter, the rule in the message.</summary>
    public void Throw(in EpConfig c, int worldSize)
    {
        switch (Rule)
        {
            case EpConfigRule.WorldSize: ThrowHelper.OutOfRange(Field, Value, $"must be 1..{EpConfig.MaxWorldSize}"); break;
            case EpConfigRule.ModeUndefined: ThrowHelper.OutOfRange(Field, Value, "is not an EpMode"); break;
            case EpConfigRule.LayoutForMode:
                ThrowHelper.Argument(Field, $"Layout {c.Layout} is not valid for mode {c.Mode}: low latency takes ExpertMajor or RankMajor, high throughput takes Flat or ExpertMajor.");
                break;
            case EpConfigRule.DataType: ThrowHelper.Argument(Field, $"Token rows must be BFloat16 or Float32, not {c.DataType} (an FP8 dispatch keeps bf16 token rows and sets DispatchQuantization)."); break;
            case EpConfigRule.Hidden:
                ThrowHelper.OutOfRange(Field, Value, $"must be a multiple of {EpConfig.HiddenGranularity} from {EpConfig.MinHidden} to {EpConfig.MaxHidden}");
                break;
            case EpConfigRule.TopK: ThrowHelper.OutOfRange(Field, Value, $"must be 1..{EpConfig.MaxTopK}"); break;
            case EpConfigRule.ExpertsPerRank: ThrowHelper.OutOfRange(Field, Value, $"must be a positive multiple of the world size {worldSize}"); break;
            case EpConfigRule.TopKAboveExperts:
                ThrowHelper.OutOfRange(Field, Value, $"must not exceed NumExperts ({c.NumExperts}): a token picks distinct experts");
                break;
            case EpConfigRule.Tokens: ThrowHelper.OutOfRange(Field, Value, $"must be 1..{EpConfig.MaxTokens}"); break;
            case EpConfigRule.NumSms: ThrowHelper.OutOfRange(Field, Value, $"must be 0 (backend's choice) to {EpConfig.MaxNumSms}"); break;
            case EpConfigRule.Alignment: ThrowHelper.OutOfRange(Field, Value, $"must be 1..{EpConfig.MaxExpertAlignment}"); break;
            case EpConfigRule.AlignmentLayout:
                ThrowHelper.Argument(Field, "ExpertAlignment applies to the high-throughput ExpertMajor layout only; leave it 1.");
                break;
            case EpConfigRule.Quantization: ThrowHelper.OutOfRange(Field, Value, "is not an EpDispatchQuantization"); break;
            case EpConfigRule.QuantizationHidden:
                ThrowHelper.OutOfRange(Field, Value, $"must be a multiple of {EpConfig.UE8M0HiddenGranularity} with DispatchQuantization = Float8E4M3UE8M0 (4 scales of {EpQuantization.GroupSize} channels per packed word)");
                break;
            case EpConfigRule.CombineReductionUndefined: ThrowHelper.OutOfRange(Field, Value, "is not an EpCombineReduction"); break;
            case EpConfigRule.CombineReductionLayout:
                ThrowHelper.Argument(Field, $"CombineReduction PerRank applies to the ExpertMajor layout only; {c.Layout} already sends one row per (token, rank): leave it PerSlot.");
                break;
            default: ThrowHelper.Argument(Field, $"The dispatch output would need {Value} rows; more than 2^31-1."); break;
        }
    }
}
