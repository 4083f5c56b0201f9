using System;
using System.Runtime.InteropServices;

namespace NcclEp.Testing;

/// <summary>
/// Downloads what one rank's round trip produced into a <see cref="RankResult"/> (synchronous; on either backend):
/// the counts, then for every row range the layout defines the received rows, source info, received top-k (per-rank
/// layouts) and gradient rows, then the combined rows and the token gradient, then the handle's (expert, source)
/// offsets and (if asked) every row of the dispatch output and gradient rows, rows past the counts included.
/// </summary>
public static class ResultCollector
{
    /// <param name="handle">The handle after the round trip.</param>
    /// <param name="received">Dispatch output buffer; the layout starts <paramref name="receivedAt"/> bytes in (rows packed).</param>
    /// <param name="combined">Combine output; the rows start <paramref name="combinedAt"/> bytes in.</param>
    /// <param name="tokens">Tokens of this rank.</param>
    /// <param name="gradRows">Combine-backward output (same geometry as <paramref name="received"/>), or null for forward only.</param>
    /// <param name="gradX">Dispatch-backward output (same geometry as <paramref name="combined"/>), or null.</param>
    /// <param name="everyRow">Also every row of the layout buffers (what lies past the counts must match too).</param>
    public static RankResult Collect(EpHandle handle, EpBuffer received, long receivedAt, EpBuffer combined, long combinedAt, int tokens,
        EpBuffer? gradRows, EpBuffer? gradX, bool everyRow = false)
    {
        EpGroup g = handle.Group;
        EpConfig c = g.Config;
        long rowBytes = c.RowBytes;
        int k = c.TopK;
        var result = new RankResult();
        int[] rankCounts = State<int>(handle, handle.ReceivedRankCounts, g.WorldSize);
        int[] expertCounts = State<int>(handle, handle.ReceivedExpertCounts, g.LocalExperts);
        int[] offsets = State<int>(handle, handle.ReceivedExpertOffsets, g.LocalExperts + 1);
        int[] total = State<int>(handle, handle.ReceivedTotal, 1);
        result.Add("rankCounts", Bytes(rankCounts));
        result.Add("expertCounts", Bytes(expertCounts));
        result.Add("expertOffsets", Bytes(offsets));
        result.Add("total", Bytes(total));
        foreach ((long first, long count) in LayoutRows.Defined(c, g.WorldSize, rankCounts, expertCounts, offsets, total[0]))
        {
            string at = $"[{first}..{first + count})";
            result.Add("received" + at, Rows(received, receivedAt + (first * rowBytes), count * rowBytes));
            if (gradRows is not null) result.Add("gradRows" + at, Rows(gradRows, receivedAt + (first * rowBytes), count * rowBytes));
            result.Add("sourceInfo" + at, Raw(handle, handle.ReceivedSourceInfo.Data + (nint)(first * 12), count * 12));
            if (c.Layout != EpLayout.ExpertMajor)
            {
                result.Add("recvTopKIds" + at, Raw(handle, handle.ReceivedTopKIds.Data + (nint)(first * k * 4), count * k * 4));
                result.Add("recvTopKWeights" + at, Raw(handle, handle.ReceivedTopKWeights.Data + (nint)(first * k * 4), count * k * 4));
            }
        }
        result.Add("combined", Rows(combined, combinedAt, tokens * rowBytes));
        if (gradX is not null) result.Add("gradX", Rows(gradX, combinedAt, tokens * rowBytes));
        result.Add("recvSourceOffsets", Raw(handle, handle.State + (nint)handle.Layout.RecvSourceOffsets, 4L * g.LocalExperts * g.WorldSize));
        if (!everyRow) return result;
        long layoutBytes = c.ReceiveRows(g.WorldSize) * rowBytes;
        result.Add("received (every row)", Rows(received, receivedAt, layoutBytes));
        if (gradRows is not null) result.Add("gradRows (every row)", Rows(gradRows, receivedAt, layoutBytes));
        return result;
    }

    /// <summary>Expert-major: the handle's recvMessageRows ([W][M][K] i32, kept by both backends); empty for per-rank layouts.</summary>
    public static int[] MessageRows(EpHandle handle)
    {
        EpGroup g = handle.Group;
        EpConfig c = g.Config;
        if (c.Layout != EpLayout.ExpertMajor) return [];
        var rows = new int[g.WorldSize * c.MaxTokensPerRank * c.TopK];
        HandleState.Read<int>(handle, handle.State + (nint)handle.Layout.RecvMessageRows, rows);
        return rows;
    }

    /// <summary><paramref name="n"/> values of a handle tensor (device memory on Cuda).</summary>
    public static T[] State<T>(EpHandle handle, in EpTensor t, int n) where T : unmanaged
    {
        var values = new T[n];
        HandleState.Read<T>(handle, t.Data, values);
        return values;
    }

    private static byte[] Raw(EpHandle handle, nint address, long bytes)
    {
        var data = new byte[bytes];
        HandleState.Read<byte>(handle, address, data);
        return data;
    }

    private static byte[] Rows(EpBuffer b, long offset, long bytes)
    {
        var data = new byte[bytes];
        if (bytes > 0) b.Download<byte>(data, offset);
        return data;
    }

    private static byte[] Bytes<T>(T[] values) where T : unmanaged => MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
}
