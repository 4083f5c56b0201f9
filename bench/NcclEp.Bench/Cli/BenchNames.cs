using System;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>Command-line spellings of the library's enums, both ways.</summary>
internal static class BenchNames
{
    public static readonly string[] Backends = ["auto", "host", "cuda"];
    public static readonly string[] Modes = ["ll", "ht"];
    public static readonly string[] Layouts = ["expert-major", "rank-major", "flat"];
    public static readonly string[] DataTypes = ["bf16", "fp32", "fp8"];
    public static readonly string[] Fp8Scales = ["fp32", "pow2", "ue8m0"];
    public static readonly string[] Combines = ["per-slot", "per-rank"];
    public static readonly string[] Routings = ["fused", "separate"];

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

    /// <summary>The token rows' element type: fp32, else bf16 (<c>fp8</c> dispatches bf16 rows as FP8).</summary>
    public static EpDataType ParseDataType(string text) => text == "fp32" ? EpDataType.Float32 : EpDataType.BFloat16;

    /// <summary>The FP8 recipe of <c>--fp8-scales</c>.</summary>
    public static EpDispatchQuantization ParseFp8Scales(string text) => text switch
    {
        "pow2" => EpDispatchQuantization.Float8E4M3PowerOfTwo,
        "ue8m0" => EpDispatchQuantization.Float8E4M3UE8M0,
        _ => EpDispatchQuantization.Float8E4M3,
    };

    public static string Fp8ScalesName(EpDispatchQuantization recipe) => recipe switch
    {
        EpDispatchQuantization.Float8E4M3PowerOfTwo => "pow2",
        EpDispatchQuantization.Float8E4M3UE8M0 => "ue8m0",
        _ => "fp32",
    };

    /// <summary><c>--dtype</c> as given: fp8 when the dispatch is quantized, else the rows' element type.</summary>
    public static string DataType(BenchOptions o) => o.Quantization != EpDispatchQuantization.None ? "fp8" : DataType(o.DataType);

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

    /// <summary><c>--routing</c>: true for fused (the dispatch takes the routing itself), false for separate (Update first).</summary>
    public static bool ParseRouting(string text) => text == "fused";

    public static string Routing(bool fused) => fused ? "fused" : "separate";

    /// <summary>What the combine sends home, one row each: what its bytes count.</summary>
    public static string CombineRows(in EpConfig c) =>
        c.Layout != EpLayout.ExpertMajor ? "(token, destination rank) rows sent home"
        : c.CombinesPartials ? "(token, expert rank) partial rows sent home"
        : "(token, top-k slot) rows sent home";
}
