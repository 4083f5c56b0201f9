using System;
using NcclEp.Backend;

namespace NcclEp;

/// <summary>
/// The host's view of this rank's two routes: the send in flight on each (<see cref="DispatchSend(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>,
/// <see cref="CombineSend"/>) and how many operations each has issued since creation or the last
/// <see cref="SetActiveRanks"/>, which is the kernels' sequence number kept on the host without reading anything back
/// (it gives the window half an operation lands in, for zero-copy receive).
/// </summary>
public sealed partial class EpGroup
{
    private readonly InFlightSend[] _inFlight = new InFlightSend[EpRoutes.Count];
    private readonly long[] _issued = new long[EpRoutes.Count];
    private readonly int[] _captured = new int[EpRoutes.Count];

    /// <summary>Whether a send of this rank waits for its <see cref="Complete"/> (NcclEp.Graphs refuses to capture or replay then).</summary>
    internal bool HasSendsInFlight => _inFlight[0].Handle is not null || _inFlight[1].Handle is not null;

    /// <summary>Operations issued on <paramref name="route"/> since creation or the last <see cref="SetActiveRanks"/>.</summary>
    internal long Issued(EpRoute route) => _issued[(int)route];

    /// <summary>Refuses a new operation on <paramref name="route"/> while a send of it is in flight (called by every stub's checks).</summary>
    internal void ThrowIfRouteBusy(EpRoute route)
    {
        if (_inFlight[(int)route].Handle is null) return;
        ThrowHelper.InvalidOperation(
            $"Rank {Rank} has a {(_inFlight[(int)route].Op == EpOperation.Dispatch ? "DispatchSend" : "CombineSend")} in flight on {EpRoutes.Calls(route)}; " +
            "call EpGroup.Complete on its handle before another operation of that route. One operation per route may be in flight: the window " +
            "holds two halves, and with two in flight a peer could overwrite rows this rank has not read yet (docs/kernels.md, \"Send and complete\").");
    }

    /// <summary>
    /// Called by <see cref="CallFront"/> for every new operation, after the stub's checks and before the launch: checks a
    /// layout tensor in the window, then counts the operation (inside a capture, for the graph's replays instead).
    /// </summary>
    internal void BeginOperation(EpRoute route, EpOperation op, EpHandle handle, ref readonly EpLaunchArgs args)
    {
        bool inWindow = CheckWindowRows(route, op, handle, in args);
        if (_captureSink is not null)
        {
            _captured[(int)route]++;
            return;
        }
        _issued[(int)route]++;
        if (route == EpRoute.Dispatch) NoteDispatchRoute(handle, inWindow);
    }

    /// <summary>Called once the send half was issued.</summary>
    internal void MarkInFlight(EpRoute route, EpHandle handle, EpOperation op, ref readonly EpLaunchArgs args)
    {
        _inFlight[(int)route] = new InFlightSend { Handle = handle, Op = op, Args = args };
        handle.InFlightRoute = route;
    }

    /// <summary>A capture begins: its operations are counted apart (they run at each replay, not now).</summary>
    internal void BeginCaptureCount() => Array.Clear(_captured);

    /// <summary>Operations on <paramref name="route"/> that the step being captured issued.</summary>
    internal int CapturedOperations(EpRoute route) => _captured[(int)route];

    /// <summary>A replay ran a step's operations: the host's counts follow the kernels' sequence numbers.</summary>
    internal void AdvanceRoutes(int dispatchRoute, int combineRoute)
    {
        _issued[(int)EpRoute.Dispatch] += dispatchRoute;
        _issued[(int)EpRoute.Combine] += combineRoute;
        if (dispatchRoute > 0) NoteDispatchRoute(null, inWindow: false);
    }

    /// <summary>Forgets every send in flight (a capture that recorded its sends instead of running them).</summary>
    internal void AbandonSendsInFlight()
    {
        for (int r = 0; r < _inFlight.Length; r++)
        {
            if (_inFlight[r].Handle is EpHandle handle) handle.InFlightRoute = null;
            _inFlight[r] = default;
        }
    }

    /// <summary><see cref="SetActiveRanks"/>: the kernels' sequence numbers restart at 0, and a send in flight is abandoned.</summary>
    private void RestartRoutes()
    {
        AbandonSendsInFlight();
        Array.Clear(_issued);
        NoteDispatchRoute(null, inWindow: false);
    }

    /// <summary>A send half issued and not yet completed: its handle, its call and the arguments its stub packed.</summary>
    private struct InFlightSend
    {
        public EpHandle? Handle;
        public EpOperation Op;
        public EpLaunchArgs Args;
    }
}
