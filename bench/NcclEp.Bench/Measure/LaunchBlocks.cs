using System;
using NcclEp;
using NcclEp.Cuda;

namespace NcclEp.Bench;

/// <summary>The thread blocks each dispatch/combine launch of a group really uses (numSms is clamped to its GPU share).</summary>
internal static class LaunchBlocks
{
    /// <summary>Blocks per launch on the Cuda backend; 0 on the Host backend, where numSms means nothing.</summary>
    public static int Of(EpGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        return group.RankBackend is CudaRankBackend cuda
            ? CudaRankBackend.GridSize(group.Config, cuda.Device.Multiprocessors, cuda.Fabric.RanksPerDevice)
            : 0;
    }

    /// <summary>
    /// Blocks the dispatch and combine launches of a call with <paramref name="tokens"/> tokens per rank take: the
    /// configured grid, or in low latency a grid sized to the call's work (Cuda/LaunchSizing.cs); (0, 0) on the Host backend.
    /// </summary>
    public static (int Dispatch, int Combine) Phases(EpGroup group, int tokens)
    {
        ArgumentNullException.ThrowIfNull(group);
        return group.RankBackend is CudaRankBackend cuda ? ((int)cuda.DispatchGrid(tokens), (int)cuda.CombineGrid(tokens)) : (0, 0);
    }

    /// <summary>
    /// The most blocks any rank's dispatch and combine launches take, each rank sized by its own token count
    /// (<paramref name="rankTokens"/>; an uneven batch's ranks launch different grids, a rank without tokens the whole one).
    /// </summary>
    public static (int Dispatch, int Combine) Largest(EpGroup[] groups, int[] rankTokens)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(rankTokens);
        int dispatch = 0, combine = 0;
        for (int r = 0; r < groups.Length; r++)
        {
            (int d, int c) = Phases(groups[r], rankTokens[r]);
            dispatch = Math.Max(dispatch, d);
            combine = Math.Max(combine, c);
        }
        return (dispatch, combine);
    }
}
