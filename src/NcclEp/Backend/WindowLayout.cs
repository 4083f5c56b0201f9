using System;
namespace NcclEp.Backend;

/// <summary>
/// Byte offsets inside one rank's symmetric window: the buffer peers write into. The Host backend and the
/// CUDA kernels use exactly this layout (the kernels get the offsets as arguments), so a window dump from
/// either backend reads the same.
/// </summary>
/// <remarks>
/// <code>
/// ctrl            512 B   local counters, the error record and the masked-by word (see <see cref="WindowControl"/>)
/// dispatchFlags   [2 parities][W] u64   (sequence &lt;&lt; 32) | token count, written by source rank s at [p][s] (also its presence)
/// combineFlags    [2][W] u64            sequence &lt;&lt; 32: peer s's presence in its combine-route operation (first thing it writes)
/// chunkFlags      [2][W][Chunks] u64    sequence &lt;&lt; 32 when chunk c of source s's messages is written
/// combineChunks   [2][W][Chunks] u64    sequence &lt;&lt; 32 when the rows answering chunk c of this rank's messages to s are home
/// expertCounts    [2][W][L] i32         rows source s sends to each local expert
/// messages        [2][W][M] message     header (token, top-k ids, weights, per-slot positions) + one row; the forward
///                                       dispatch of an FP8 recipe writes its smaller messages at QuantizedMessageBytes
///                                       apart in the same slots (FP8 row, then its scales; docs/fp8.md)
/// combineRows     [2][M][C] row         expert outputs home: C = max(topK, W) rows per token
/// </code>
/// Parity is the operation's sequence number &amp; 1: back-to-back operations write alternate halves.
/// </remarks>
internal readonly record struct WindowLayout
{
    public const int ControlBytes = 512;

    /// <summary>Most chunks one (source, destination) block of messages is sent in: flag slots per source (NCCLEP_CHUNKS in the kernels).</summary>
    public const int Chunks = 256;
    private const int Align = 128;

    /// <summary>
    /// Messages and their rows start on 128-byte lines, so a warp's 512-byte store covers whole lines: with the
    /// 16-byte-aligned 112-byte header of top-8 every store to a peer straddled five lines (docs/kernels.md).
    /// </summary>
    public const int MessageAlign = 128;

    public WindowLayout(in EpConfig config, int worldSize)
    {
        WorldSize = worldSize;
        LocalExperts = config.LocalExperts(worldSize);
        TopK = config.TopK;
        MaxTokens = config.MaxTokensPerRank;
        RowBytes = config.RowBytes;
        HeaderBytes = (int)RoundUp(16 + (12 * config.TopK), MessageAlign);
        MessageBytes = (int)RoundUp(HeaderBytes + RowBytes, MessageAlign);
        CombineSlots = Math.Max(config.TopK, worldSize);
        QuantizedPayloadBytes = config.IsDispatchQuantized ? (int)RoundUp(config.DispatchRowBytes, 16) : 0;
        QuantizedMessageBytes = config.IsDispatchQuantized ? (int)RoundUp(HeaderBytes + QuantizedPayloadBytes, MessageAlign) : 0;

        long offset = ControlBytes;
        DispatchFlags = offset; offset = RoundUp(offset + (2L * worldSize * 8), Align);
        CombineFlags = offset; offset = RoundUp(offset + (2L * worldSize * 8), Align);
        ChunkFlags = offset; offset = RoundUp(offset + (2L * worldSize * Chunks * 8), Align);
        CombineChunkFlags = offset; offset = RoundUp(offset + (2L * worldSize * Chunks * 8), Align);
        ExpertCounts = offset; offset = RoundUp(offset + (2L * worldSize * LocalExperts * 4), Align);
        Messages = offset; offset = RoundUp(offset + (2L * worldSize * MaxTokens * MessageBytes), Align);
        CombineRows = offset; offset = RoundUp(offset + (2L * MaxTokens * CombineSlots * RowBytes), Align);
        TotalBytes = offset;
    }

    public int WorldSize { get; }
    public int LocalExperts { get; }
    public int TopK { get; }
    public int MaxTokens { get; }
    public int RowBytes { get; }
    public int HeaderBytes { get; }
    public int MessageBytes { get; }
    public int CombineSlots { get; }

    /// <summary>
    /// FP8 recipes: bytes after the header of a forward dispatch message — the row's FP8 channels (hidden bytes), then
    /// its scales (fp32 per 128 channels, or one UE8M0 byte per 128 channels), rounded up to 16 bytes; 0 otherwise.
    /// </summary>
    public int QuantizedPayloadBytes { get; }

    /// <summary>
    /// FP8 recipes: the stride of forward dispatch messages (header + <see cref="QuantizedPayloadBytes"/>, on 128-byte
    /// lines); 0 otherwise. The message region is sized by <see cref="MessageBytes"/>, which is larger: Combine's backward
    /// pass sends unquantized rows through the same slots.
    /// </summary>
    public int QuantizedMessageBytes { get; }

    public long DispatchFlags { get; }
    public long CombineFlags { get; }
    public long ChunkFlags { get; }
    public long CombineChunkFlags { get; }
    public long ExpertCounts { get; }
    public long Messages { get; }
    public long CombineRows { get; }
    public long TotalBytes { get; }

    public long DispatchFlag(int parity, int source) => DispatchFlags + (((long)parity * WorldSize) + source) * 8;
    public long CombineFlag(int parity, int source) => CombineFlags + (((long)parity * WorldSize) + source) * 8;
    public long ChunkFlag(int parity, int source, int chunk) => ChunkFlags + (((((long)parity * WorldSize) + source) * Chunks) + chunk) * 8;
    public long CombineChunkFlag(int parity, int source, int chunk) => CombineChunkFlags + (((((long)parity * WorldSize) + source) * Chunks) + chunk) * 8;
    public long ExpertCount(int parity, int source) => ExpertCounts + (((long)parity * WorldSize) + source) * LocalExperts * 4L;
    public long Message(int parity, int source, int slot) => Message(parity, source, slot, MessageBytes);

    /// <summary>Message <paramref name="slot"/> of <paramref name="source"/> for messages <paramref name="messageBytes"/> apart.</summary>
    public long Message(int parity, int source, int slot, int messageBytes) =>
        Messages + ((((long)parity * WorldSize) + source) * MaxTokens + slot) * messageBytes;
    public long CombineRow(int parity, int token, int slot) =>
        CombineRows + ((((long)parity * MaxTokens) + token) * CombineSlots + slot) * RowBytes;

    public static long RoundUp(long value, long to) => (value + to - 1) / to * to;
}

/// <summary>Offsets inside the 512-byte control block at the start of a window (local use only).</summary>
internal static class WindowControl
{
    /// <summary>u32: dispatch-route operations this rank has finished (the kernels' sequence counter).</summary>
    public const int DispatchSequence = 0;

    /// <summary>u32: combine-route operations this rank has finished.</summary>
    public const int CombineSequence = 4;

    /// <summary>
    /// u32: the sequence number of the dispatch-route operation whose block 0 last finished routing for the others (a
    /// Cuda dispatch that brings its own routing, FLAG_ROUTE: CTRL_ROUTE_READY in ep_common.cuh, ep_route.cuh). Cleared
    /// with the sequences by SetActiveRanks, so a number from before a restart cannot pass for a new operation's.
    /// </summary>
    public const int RouteReady = 8;

    /// <summary>u32 ×4: the kernels' grid tickets {hierarchical forwarding done, dispatch done, unused, combine done}.</summary>
    public const int Tickets = 32;

    /// <summary>i32 ×8: Host backend error record {code, peer, phase, sequence, value} (the Cuda backend keeps its record in mapped host memory).</summary>
    public const int Error = 64;

    /// <summary>u64: the stamp peers read at creation to check their addressing.</summary>
    public const int Stamp = 96;

    /// <summary>
    /// i32: 0, or s + 1 once survivor s masked this rank: written by the survivor's SetActiveRanks into the masked rank's
    /// window (where it reaches it by address), read by the rank itself before it writes anything to a peer.
    /// </summary>
    public const int MaskedBy = 128;

    /// <summary>i32 [W ≤ 64]: active rank mask (1 live, 0 masked), read by every kernel.</summary>
    public const int ActiveMask = 256;
}

/// <summary>Header of one dispatch message, as laid out in the window.</summary>
/// <remarks>
/// <code>
/// +0   i32 source token
/// +4   i32 reserved ×3
/// +16  i32 topkIds[K]        global expert ids, -1 for none
/// +16+4K  f32 topkWeights[K]
/// +16+8K  i32 slotPositions[K]  row of slot k inside (this source, its expert) on the receiver, -1 if not here
/// </code>
/// </remarks>
internal static class MessageHeader
{
    public const int Token = 0;
    public const int TopKIds = 16;
    public static int TopKWeights(int topK) => 16 + (4 * topK);
    public static int SlotPositions(int topK) => 16 + (8 * topK);
}
