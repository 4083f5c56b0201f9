using System;
namespace NcclEp.InternodeModel;

/// <summary>
/// Sizes of one rank's network staging buffer in the fixed worst-case design (what is built).
/// </summary>
/// <remarks>
/// <code>
/// staging = [ out half | in half ], each = R dispatch slices, then R combine slices
/// dispatch slice = header  roundUp(8 + 4·L, 128)   u64 (seq &lt;&lt; 32 | tokens), then L i32 per-expert counts
///                + M messages of roundUp(16 + 12·K, 16) + hidden·elementBytes
/// combine slice  = header  128                     u64 (seq &lt;&lt; 32)
///                + M · S rows of hidden·elementBytes  (S = K expert-major, 1 flat / rank-major)
/// slice of network peer p = number of network peers with a rank below p
/// </code>
/// The same type sizes the designed hierarchical slices: R = N − 1 peer nodes, L = the node's G·L experts, S = 1.
/// </remarks>
/// <param name="Slices">R: network peers (or peer nodes).</param>
/// <param name="CountedExperts">L: per-expert counts in the dispatch header.</param>
/// <param name="TopK">K.</param>
/// <param name="MaxTokens">M: messages per dispatch slice, tokens per combine slice.</param>
/// <param name="RowBytes">hidden · element bytes.</param>
/// <param name="RowsPerToken">S: combine rows per token.</param>
public readonly record struct StagingLayout(int Slices, int CountedExperts, int TopK, int MaxTokens, int RowBytes, int RowsPerToken)
{
    public const int SliceHeaderAlign = 128;
    public const int MessageAlign = 128;  // WindowLayout.MessageAlign

    /// <summary>Per-message header: source token, 3 reserved, then K ids, K weights, K slot positions.</summary>
    public int MessageHeaderBytes => (int)RoundUp(16 + (12 * TopK), MessageAlign);

    public int MessageBytes => (int)RoundUp(MessageHeaderBytes + RowBytes, MessageAlign);
    public long DispatchHeaderBytes => RoundUp(8 + (4L * CountedExperts), SliceHeaderAlign);
    public long DispatchSliceBytes => DispatchHeaderBytes + ((long)MaxTokens * MessageBytes);
    public static long CombineHeaderBytes => SliceHeaderAlign;
    public long CombineSliceBytes => CombineHeaderBytes + ((long)MaxTokens * RowsPerToken * RowBytes);

    /// <summary>One half (out or in): R dispatch slices and R combine slices.</summary>
    public long HalfBytes => Slices * (DispatchSliceBytes + CombineSliceBytes);

    /// <summary>Out half + in half.</summary>
    public long TotalBytes => 2 * HalfBytes;

    /// <summary>Offset of dispatch slice <paramref name="slice"/> inside a half.</summary>
    public long DispatchSlice(int slice) => slice * DispatchSliceBytes;

    /// <summary>Offset of combine slice <paramref name="slice"/> inside a half.</summary>
    public long CombineSlice(int slice) => (Slices * DispatchSliceBytes) + (slice * CombineSliceBytes);

    /// <summary>
    /// Slice index of network peer <paramref name="peer"/> for a caller whose LSA team is the contiguous ranks
    /// [<paramref name="lsaFirst"/>, lsaFirst + <paramref name="lsaSize"/>): the network peers with a lower rank.
    /// </summary>
    public static int SliceIndex(int peer, int lsaFirst, int lsaSize)
    {
        if (peer >= lsaFirst && peer < lsaFirst + lsaSize)
            throw new ArgumentOutOfRangeException(nameof(peer), peer, "is an LSA peer: it has no network slice");
        return peer < lsaFirst ? peer : peer - lsaSize;
    }

    public static long RoundUp(long value, long to) => (value + to - 1) / to * to;
}
