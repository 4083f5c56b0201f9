using System;
using NcclEp.Backend;

namespace NcclEp.Cuda;

/// <summary>
/// A forward dispatch that brings its own routing (<see cref="EpLaunchArgs.Routing"/>): up to one update tile (every
/// low-latency step) the dispatch kernel routes it in its block 0 before its other sending blocks read the handle
/// (FLAG_ROUTE, ep_route.cuh), so routing and dispatch are one launch; above that, the update's launches come first,
/// exactly as <see cref="Update"/>.
/// </summary>
internal sealed unsafe partial class CudaRankBackend
{
    /// <summary>FLAG_ROUTE (ep_common.cuh): the dispatch route's send half routes the call's tile first.</summary>
    internal const int RouteFlag = 4;

    /// <summary>
    /// u32 words SetActiveRanks clears from <see cref="WindowControl.DispatchSequence"/>: both sequences and
    /// <see cref="WindowControl.RouteReady"/>, which follows them.
    /// </summary>
    internal const uint SequenceWords = (WindowControl.RouteReady / sizeof(uint)) + 1;

    /// <summary>
    /// The flag that makes the dispatch launch route first (0 where it need not, or where the routing was launched here
    /// instead: more tokens than one tile). The routing belongs to the send half: a complete does not route again.
    /// </summary>
    private int RouteFirst(EpHandle handle, ref readonly EpLaunchArgs args)
    {
        if (!args.Routing || args.Half == EpHalf.Receive) return 0;
        if (args.NumTokens <= HandleLayout.UpdateTileTokens) return RouteFlag;
        LaunchUpdate(handle, in args);
        return 0;
    }

    /// <summary>The Cuda kernels check the ids themselves and record a bad one (raised by a later call).</summary>
    public void CheckRouting(ref readonly EpLaunchArgs args)
    {
    }

    /// <summary>Update's launches: a block per tile; with one tile ncclep_update also writes the totals and send lists.</summary>
    private void LaunchUpdate(EpHandle handle, ref readonly EpLaunchArgs args)
    {
        CudaKernelParams p = _template;
        Fill(ref p, handle, in args, flags: 0);
        uint tiles = (uint)HandleLayout.UpdateTiles(args.NumTokens);
        Launch(_kernels.Update, tiles, _updateShared, args.Stream, ref p);
        // One tile: ncclep_update finished the positions, totals and send lists itself (ep_update.cu).
        if (tiles > 1) Launch(_kernels.UpdateOffsets, tiles, _offsetsShared, args.Stream, ref p);
    }

    /// <summary>Dynamic shared memory of a dispatch-route launch: the update tile's masks too when its block 0 routes.</summary>
    private uint DispatchShared(ref readonly CudaKernelParams p) => (p.Flags & RouteFlag) != 0 ? _routedDispatchShared : _dispatchShared;
    private uint QuantizedDispatchShared(ref readonly CudaKernelParams p) => (p.Flags & RouteFlag) != 0 ? _routedQuantizedDispatchShared : _quantizedDispatchShared;
}
