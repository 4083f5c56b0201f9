using System;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>Command-line spellings of the library's enums, both ways.</summary>
internal static class BenchNames
{
    public static readonly string[] Backends = ["auto", "host", "cuda"];
    public static readonly string[] Modes = ["ll", "ht"];
    public static readonly string[] Layouts = ["expert-major", "rank-major", "flat"];
    public static readonly string[] DataTypes = ["bf16", "fp32"];
    public static readonly string[] Combines = ["per-slot", "per-rank"];

    public static BackendChoice ParseBackend(string text) => text switch
    {
        "host" => BackendChoice.Host,
        "cuda" => BackendChoice.Cuda,
        _ => BackendChoice.Auto,
    };

    public static EpMode ParseMode(string text) => text == "ht" ? EpMode.HighThroughput : EpMode.LowLatency;

    public static EpLayout ParseLayout(string text) => text switch
    {
        "rank-major" => EpLayout.RankMajor,
        "flat" => EpLayout.Flat,
        _ => EpLayout.ExpertMajor,
    };

    public static EpDataType ParseDataType(string text) => text == "fp32" ? EpDataType.Float32 : EpDataType.BFloat16;

    public static string Mode(EpMode mode) => mode == EpMode.HighThroughput ? "ht" : "ll";

    public static string Layout(EpLayout layout) => layout switch
    {
        EpLayout.RankMajor => "rank-major",
        EpLayout.Flat => "flat",
        _ => "expert-major",
    };

    public static string DataType(EpDataType type) => type == EpDataType.Float32 ? "fp32" : "bf16";

    public static EpCombineReduction ParseCombine(string text) => text == "per-rank" ? EpCombineReduction.PerRank : EpCombineReduction.PerSlot;

    public static string Combine(EpCombineReduction reduction) => reduction == EpCombineReduction.PerRank ? "per-rank" : "per-slot";

    /// <summary>What the combine sends home, one row each: what its bytes count.</summary>
    public static string CombineRows(in EpConfig c) =>
        c.Layout != EpLayout.ExpertMajor ? "(token, destination rank) rows sent home"
        : c.CombinesPartials ? "(token, expert rank) partial rows sent home"
        : "(token, top-k slot) rows sent home";
}
