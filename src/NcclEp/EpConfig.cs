using System;
namespace NcclEp;

/// <summary>
/// Everything that fixes the buffers and kernels of a group: one group (and one set of compiled kernels)
/// per configuration.
/// </summary>
/// <param name="Mode">Low latency (decode) or high throughput (prefill, training).</param>
/// <param name="NumExperts">Experts in the whole group; must be a multiple of the world size
/// (expert <c>e</c> lives on rank <c>e / (NumExperts / worldSize)</c>).</param>
/// <param name="Hidden">Elements per token row: a multiple of 128 from 512 to 16384.</param>
/// <param name="TopK">Experts per token, 1 to 32.</param>
/// <param name="MaxTokensPerRank">The most tokens any rank passes to one call (sizes every buffer).</param>
/// <param name="Layout">Where received rows land; must be valid for <paramref name="Mode"/>.</param>
/// <param name="DataType">Element type of token rows: bf16, or fp32 (tests).</param>
/// <param name="NumSms">Multiprocessors (thread blocks) the kernels may use; 0 lets the backend choose.</param>
/// <param name="ExpertAlignment">High-throughput expert-major only: each expert's segment is padded with
/// zero rows to a multiple of this (for grouped GEMMs); 1 means no padding.</param>
/// <remarks><see cref="CombineReduction"/> is set with an initializer: <c>config with { CombineReduction = ... }</c>.</remarks>
public readonly partial record struct EpConfig(
    EpMode Mode,
    int NumExperts,
    int Hidden,
    int TopK,
    int MaxTokensPerRank,
    EpLayout Layout,
    EpDataType DataType = EpDataType.BFloat16,
    int NumSms = 0,
    int ExpertAlignment = 1)
{
    /// <summary>Smallest supported <see cref="Hidden"/>.</summary>
    public const int MinHidden = 512;

    /// <summary>Largest supported <see cref="Hidden"/>.</summary>
    public const int MaxHidden = 16384;

    /// <summary><see cref="Hidden"/> must be a multiple of this.</summary>
    public const int HiddenGranularity = 128;

    /// <summary>Largest supported <see cref="TopK"/>.</summary>
    public const int MaxTopK = 32;

    /// <summary>Largest supported world size.</summary>
    public const int MaxWorldSize = 64;

    /// <summary>Largest <see cref="ExpertAlignment"/>.</summary>
    public const int MaxExpertAlignment = 1024;

    /// <summary>
    /// What the forward dispatch sends and delivers (default <see cref="EpDispatchQuantization.None"/>: rows in
    /// <see cref="DataType"/>). With an FP8 recipe the sender casts each row to FP8 E4M3 with one scale per 128 channels
    /// (docs/fp8.md), the received rows are <see cref="EpDataType.Float8E4M3"/> and their scales land in a second tensor
    /// beside them: call <see cref="EpGroup.Dispatch(EpHandle, in EpTensor, in EpTensor, in EpTensor, EpStream)"/>.
    /// Token rows (<see cref="DataType"/>), the combine and both backward passes are unchanged.
    /// </summary>
    public EpDispatchQuantization DispatchQuantization { get; init; }

    /// <summary>
    /// <see cref="EpLayout.ExpertMajor"/> only: whether the combine route sends one row per (token, top-k slot) home
    /// (<see cref="EpCombineReduction.PerSlot"/>, the default: the same rounding as before) or one partial sum per
    /// (token, expert rank) (<see cref="EpCombineReduction.PerRank"/>: fewer bytes on the link, one more rounding).
    /// The per-rank layouts refuse <see cref="EpCombineReduction.PerRank"/>: they already send one row per (token, rank).
    /// </summary>
    public EpCombineReduction CombineReduction { get; init; }

    /// <summary>Whether the combine route sends per-rank partials (expert-major with <see cref="EpCombineReduction.PerRank"/>).</summary>
    internal bool CombinesPartials => Layout == EpLayout.ExpertMajor && CombineReduction == EpCombineReduction.PerRank;

    /// <summary>Experts held by each rank.</summary>
    public int LocalExperts(int worldSize) => NumExperts / worldSize;

    /// <summary>Bytes of one token row.</summary>
    public int RowBytes => Hidden * DataType.SizeInBytes();

    /// <summary>
    /// Rows of the dispatch output (the first dimension for <see cref="EpLayout.Flat"/> and
    /// high-throughput <see cref="EpLayout.ExpertMajor"/>; dimensions 0 × 1 for the 3-D layouts).
    /// </summary>
    public long ReceiveRows(int worldSize)
    {
        long perSource = (long)worldSize * MaxTokensPerRank;
        int local = LocalExperts(worldSize);
        return (Mode, Layout) switch
        {
            (EpMode.LowLatency, EpLayout.ExpertMajor) => local * perSource,
            (EpMode.HighThroughput, EpLayout.ExpertMajor) =>
                (perSource * Math.Min(TopK, local)) + ((long)local * (ExpertAlignment - 1)),
            _ => perSource,
        };
    }

    /// <summary>Whether <paramref name="layout"/> is a dispatch output of <paramref name="mode"/>.</summary>
    public static bool IsLayoutValid(EpMode mode, EpLayout layout) => mode switch
    {
        EpMode.LowLatency => layout is EpLayout.ExpertMajor or EpLayout.RankMajor,
        EpMode.HighThroughput => layout is EpLayout.Flat or EpLayout.ExpertMajor,
        _ => false,
    };

    /// <summary>Throws an exception naming the first field that the kernels cannot serve.</summary>
    /// <param name="worldSize">Ranks in the group.</param>
    public void Validate(int worldSize)
    {
        if (FindProblem(worldSize) is { } problem) problem.Throw(this, worldSize);
    }
}
