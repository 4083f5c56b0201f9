namespace NcclEp.InternodeModel;

/// <summary>One published DeepEP figure pair for an EP size (0 where none was published).</summary>
public readonly record struct DeepEpFigure(int Ep, double Dispatch, double Combine);

/// <summary>
/// DeepEP's published internode figures, for comparison only (H800, one CX7 InfiniBand 400 Gb/s NIC per GPU,
/// hidden 7168, top-8, FP8 dispatch and BF16 combine).
/// </summary>
/// <remarks>
/// V1 tables: README of deepseek-ai/DeepEP at commit 567632dd59810d77b3cc05553df953cc0f779799
/// (https://github.com/deepseek-ai/DeepEP/blob/567632dd59810d77b3cc05553df953cc0f779799/README.md), now kept in
/// https://github.com/deepseek-ai/DeepEP/blob/main/docs/legacy.md. V2 table: the current README
/// (https://github.com/deepseek-ai/DeepEP/blob/main/README.md, "Performance", SM90 rows).
/// </remarks>
public static class DeepEpPublished
{
    public const string V1Url = "https://github.com/deepseek-ai/DeepEP/blob/567632dd59810d77b3cc05553df953cc0f779799/README.md";
    public const string V2Url = "https://github.com/deepseek-ai/DeepEP/blob/main/README.md";

    /// <summary>V1 low-latency kernels, pure RDMA, 128 tokens per rank: latency in µs.</summary>
    public static DeepEpFigure[] LowLatencyUs { get; } =
    [
        new(8, 77, 114), new(16, 118, 195), new(32, 155, 273), new(64, 173, 314), new(128, 192, 369), new(256, 194, 360),
    ];

    /// <summary>V1 normal kernels, 4096 tokens per rank, top-4 groups: "bottleneck bandwidth (RDMA)" in GB/s.</summary>
    public static DeepEpFigure[] NormalRdmaGBps { get; } = [new(16, 43, 43), new(32, 58, 57), new(64, 51, 50)];

    /// <summary>V2 (NCCL GIN backend) on SM90 + CX7, 8192 tokens per rank: "bottleneck bandwidth (RDMA)" in GB/s.</summary>
    public static DeepEpFigure[] V2RdmaGBps { get; } = [new(16, 90, 81), new(32, 61, 61)];

    /// <summary>The figure for <paramref name="ep"/> ranks, or null.</summary>
    public static DeepEpFigure? For(DeepEpFigure[] table, int ep)
    {
        foreach (DeepEpFigure f in table ?? [])
            if (f.Ep == ep) return f;
        return null;
    }
}
