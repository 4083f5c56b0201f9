using System;

namespace NcclEp.Testing;

/// <summary>
/// <see cref="AffineExperts"/> over a whole dispatch output in host-addressable memory (the Host backend's "device"
/// memory), on the calling thread: the rows in use come from the handle's counts, the experts of a per-rank row from the
/// top-k beside it. Any strides (pitched rows, spare rows between the blocks of a 3-D layout); rows not in use are left
/// as they are. Allocates nothing (it runs inside graph replays).
/// </summary>
public static unsafe class HostAffineExperts
{
    /// <summary>Applies the experts (or their backward) of <paramref name="handle"/>'s rank to <paramref name="input"/>, writing <paramref name="output"/>.</summary>
    public static void Apply(EpHandle handle, in EpTensor input, in EpTensor output, EpPass pass)
    {
        EpGroup g = handle.Group;
        EpConfig c = g.Config;
        int world = g.WorldSize, local = g.LocalExperts, rank = g.Rank;
        var rankCounts = new ReadOnlySpan<int>((void*)handle.ReceivedRankCounts.Data, world);
        var expertCounts = new ReadOnlySpan<int>((void*)handle.ReceivedExpertCounts.Data, local);
        var offsets = new ReadOnlySpan<int>((void*)handle.ReceivedExpertOffsets.Data, local + 1);
        long capacity = c.ReceiveRows(world);
        if (c.Layout == EpLayout.ExpertMajor)
        {
            long block = c.Mode == EpMode.LowLatency ? (long)world * c.MaxTokensPerRank : capacity;
            for (int l = 0; l < local; l++)
            {
                Guard(offsets[l], expertCounts[l], c.Mode == EpMode.LowLatency ? (l + 1) * block : capacity, "local expert", l);
                for (int j = 0; j < expertCounts[l]; j++) Row(c, pass, (rank * local) + l, null, 0, 0, input, output, offsets[l] + j);
            }
            return;
        }

        long start = 0;
        for (int s = 0; s < world; s++)
        {
            long first = c.Layout == EpLayout.RankMajor ? (long)s * c.MaxTokensPerRank : start;
            Guard(first, rankCounts[s], c.Layout == EpLayout.RankMajor ? first + c.MaxTokensPerRank : capacity, "source rank", s);
            for (int i = 0; i < rankCounts[s]; i++) Row(c, pass, -1, handle, rank * local, local, input, output, first + i);
            start += rankCounts[s];
        }
    }

    private static void Row(in EpConfig c, EpPass pass, int expert, EpHandle? handle, int firstLocal, int local,
        in EpTensor input, in EpTensor output, long row)
    {
        int rowBytes = c.RowBytes;
        var source = new ReadOnlySpan<byte>((void*)Address(input, row), rowBytes);
        var destination = new Span<byte>((void*)Address(output, row), rowBytes);
        if (handle is null)
        {
            AffineExperts.ExpertRow(c.DataType, pass, expert, source, destination, c.Hidden);
            return;
        }
        EpTensor ids = handle.ReceivedTopKIds, weights = handle.ReceivedTopKWeights;
        var rowIds = new ReadOnlySpan<int>((void*)(ids.Data + (nint)(row * ids.Stride(0) * 4)), c.TopK);
        var rowWeights = new ReadOnlySpan<float>((void*)(weights.Data + (nint)(row * weights.Stride(0) * 4)), c.TopK);
        AffineExperts.RankRow(c.DataType, pass, rowIds, rowWeights, firstLocal, local, source, destination, c.Hidden);
    }

    /// <summary>Address of flat layout row <paramref name="row"/> (flattened over the leading dimensions of a 3-D layout).</summary>
    public static nint Address(in EpTensor t, long row)
    {
        long element = t.DimensionCount == 3 ? ((row / t.Dim(1)) * t.Stride(0)) + ((row % t.Dim(1)) * t.Stride(1)) : row * t.Stride(0);
        return t.Data + (nint)(element * t.DataType.SizeInBytes());
    }

    private static void Guard(long first, int count, long limit, string owner, int index)
    {
        if (count < 0 || first < 0 || first + count > limit)
            throw new CheckFailedException($"the handle's counts put {owner} {index} at rows [{first}, {first + count}), outside the layout's {limit} rows");
    }
}
