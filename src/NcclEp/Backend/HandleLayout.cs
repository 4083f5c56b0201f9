using System;
namespace NcclEp.Backend;

/// <summary>
/// Byte offsets of the routing state one <see cref="EpHandle"/> owns in device memory (native memory on the
/// Host backend). <c>Update</c> fills the send side, <c>Dispatch</c> the receive side; <c>Combine</c> reads both.
/// </summary>
/// <remarks>
/// <code>
/// numTokens           i32             tokens of the last Update
/// topkIds             [M][K] i32      copy of the routing (dense)
/// topkWeights         [M][K] f32
/// rankPositions       [M][W] i32      row of token t inside the block it sends to rank r, -1 if none
/// slotPositions       [M][K] i32      row of slot k inside (this rank, expert) on the expert's rank
/// sendRankCounts      [W] i32
/// sendExpertCounts    [E] i32         indexed by global expert
/// recvRankCounts      [W] i32
/// recvExpertCounts    [L] i32
/// recvExpertOffsets   [L+1] i32       high-throughput expert-major: segment starts (padded); [L] = rows used
/// recvTotal           [1] i32         rows of the dispatch output in use
/// recvSourceOffsets   [L][W] i32      first row of (expert, source) inside the expert's segment
/// recvSourceInfo      [R] {rank, token, slot}
/// recvTopKIds         [R'][K] i32     per-rank layouts only (R' = R), else 0 rows
/// recvTopKWeights     [R'][K] f32     per-rank layouts: beside each row; expert-major with per-rank combine partials:
///                                     [W·M][K], the weights of each received message (s·M + i), which its partial uses
/// updateTiles         [tiles][E+W] i32  Cuda update: (expert, rank) counts of each tile of UpdateTileTokens tokens
/// sendTokens          [W][M] i32      Cuda update: the token at each row of the block sent to rank r
/// recvMessageRows     [W][M][K] i32   Cuda dispatch, expert-major: the output row of each received message's slot, -1 if none
/// </code>
/// </remarks>
internal readonly record struct HandleLayout
{
    /// <summary>Every region starts on a 128-byte line, relative to the state's base, which must be aligned the same way.</summary>
    public const int Alignment = 128;

    /// <summary>
    /// Tokens per block of the Cuda update kernel (a multiple of 32: one bitmask word per 32 tokens). 128 keeps every
    /// low-latency step (up to 128 tokens) in one tile, which the update finishes in one launch.
    /// </summary>
    public const int UpdateTileTokens = 128;

    /// <summary>Tiles the Cuda update splits <paramref name="tokens"/> tokens into (at least one, so a launch always has a block).</summary>
    public static int UpdateTiles(int tokens) => Math.Max(1, (tokens + UpdateTileTokens - 1) / UpdateTileTokens);

    public HandleLayout(in EpConfig config, int worldSize)
    {
        int m = config.MaxTokensPerRank, k = config.TopK, w = worldSize;
        int l = config.LocalExperts(worldSize);
        ReceiveRows = config.ReceiveRows(worldSize);
        long perRankRows = config.Layout == EpLayout.ExpertMajor ? 0 : ReceiveRows;
        long weightRows = config.CombinesPartials ? (long)w * m : perRankRows;

        long o = 0;
        NumTokens = o; o = Next(o, 16);
        TopKIds = o; o = Next(o, 4L * m * k);
        TopKWeights = o; o = Next(o, 4L * m * k);
        RankPositions = o; o = Next(o, 4L * m * w);
        SlotPositions = o; o = Next(o, 4L * m * k);
        SendRankCounts = o; o = Next(o, 4L * w);
        SendExpertCounts = o; o = Next(o, 4L * config.NumExperts);
        RecvRankCounts = o; o = Next(o, 4L * w);
        RecvExpertCounts = o; o = Next(o, 4L * l);
        RecvExpertOffsets = o; o = Next(o, 4L * (l + 1));
        RecvTotal = o; o = Next(o, 4);
        RecvSourceOffsets = o; o = Next(o, 4L * l * w);
        RecvSourceInfo = o; o = Next(o, 12L * ReceiveRows);
        RecvTopKIds = o; o = Next(o, 4L * perRankRows * k);
        RecvTopKWeights = o; o = Next(o, 4L * weightRows * k);
        UpdateTileCounts = o; o = Next(o, 4L * UpdateTiles(m) * (config.NumExperts + w));
        SendTokens = o; o = Next(o, 4L * w * m);
        RecvMessageRows = o; o = Next(o, config.Layout == EpLayout.ExpertMajor ? 4L * w * m * k : 0);
        TotalBytes = o;
    }

    public long ReceiveRows { get; }
    public long NumTokens { get; }
    public long TopKIds { get; }
    public long TopKWeights { get; }
    public long RankPositions { get; }
    public long SlotPositions { get; }
    public long SendRankCounts { get; }
    public long SendExpertCounts { get; }
    public long RecvRankCounts { get; }
    public long RecvExpertCounts { get; }
    public long RecvExpertOffsets { get; }
    public long RecvTotal { get; }
    public long RecvSourceOffsets { get; }
    public long RecvSourceInfo { get; }
    public long RecvTopKIds { get; }
    public long RecvTopKWeights { get; }
    public long UpdateTileCounts { get; }
    public long SendTokens { get; }
    public long RecvMessageRows { get; }
    public long TotalBytes { get; }

    private static long Next(long offset, long bytes) => WindowLayout.RoundUp(offset + bytes, Alignment);
}
