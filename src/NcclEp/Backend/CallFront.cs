using System;

namespace NcclEp.Backend;

/// <summary>
/// Where a group's launch stub sends its dispatch or combine while one of the group's data-path calls runs it: after the
/// stub's checks and before the launch, the group checks a layout tensor that lies in its window (zero-copy receive),
/// checks a routed dispatch's ids where the backend reads them on the host, counts the operation on its route (the host's copy of the sequence number, for the window's parity), and for a send
/// marks the packed arguments as the send half and keeps them for <see cref="EpGroup.Complete"/>; then the call goes on
/// to the rank's backend (or the capture sink, which records it). One per group, made at creation: nothing allocates
/// per call. Outside those calls <see cref="EpGroup.RankBackend"/> is the rank's backend itself.
/// </summary>
internal sealed class CallFront(EpGroup group) : IEpRankBackend
{
    private IEpRankBackend? _target;
    private bool _sending;

    /// <summary>Whether a data-path call is being issued (the group's calls come here).</summary>
    public bool IsActive => _target is not null;

    public EpBackendKind Kind => Target.Kind;

    private IEpRankBackend Target => _target ?? throw new InvalidOperationException("No data-path call is being issued.");

    /// <summary>The stub's call goes to <paramref name="target"/> until <see cref="End"/>, as a send half if <paramref name="sending"/>.</summary>
    private void Begin(IEpRankBackend target, bool sending)
    {
        _target = target;
        _sending = sending;
    }

    private void End() => _target = null;

    /// <summary><see cref="Begin"/> now and <see cref="End"/> when the returned scope is disposed (a <c>using</c>; allocates nothing).</summary>
    public Scope Enter(IEpRankBackend target, bool sending)
    {
        Begin(target, sending);
        return new Scope(this);
    }

    /// <summary>The span of one data-path call: its disposal ends it.</summary>
    public readonly ref struct Scope(CallFront front)
    {
        public void Dispose() => front.End();
    }

    public void Dispatch(EpHandle handle, ref readonly EpLaunchArgs args) => Issue(EpOperation.Dispatch, handle, in args);

    public void Combine(EpHandle handle, ref readonly EpLaunchArgs args) => Issue(EpOperation.Combine, handle, in args);

    public void CheckRouting(ref readonly EpLaunchArgs args) => Target.CheckRouting(in args);

    private void Issue(EpOperation op, EpHandle handle, ref readonly EpLaunchArgs args)
    {
        EpRoute route = EpRoutes.Of(op, args.Pass);
        // A bad id the backend can see on the host is refused before the operation is counted (nothing issued).
        if (args.Routing) Target.CheckRouting(in args);
        group.BeginOperation(route, op, handle, in args);
        EpLaunchArgs issued = args;
        if (_sending) issued.Half = EpHalf.Send;
        if (op == EpOperation.Dispatch) Target.Dispatch(handle, in issued);
        else Target.Combine(handle, in issued);
        // Only once the send half was issued (a backend that throws issued nothing) is it in flight.
        if (_sending) group.MarkInFlight(route, handle, op, in issued);
    }

    // The public data-path calls run one launch stub: nothing else reaches this backend.
    public void Update(EpHandle handle, ref readonly EpLaunchArgs args) => throw Unexpected(nameof(Update));

    public EpBuffer Allocate(long bytes) => throw Unexpected(nameof(Allocate));

    public void SetActiveRanks(ReadOnlySpan<bool> active) => throw Unexpected(nameof(SetActiveRanks));

    public void CheckErrors() => Target.CheckErrors();

    public void Synchronize(EpStream stream) => throw Unexpected(nameof(Synchronize));

    public void CopyToHost(nint source, Span<byte> destination) => throw Unexpected(nameof(CopyToHost));

    /// <summary>Never called: the group disposes its own backend.</summary>
    public void Dispose()
    {
    }

    private static InvalidOperationException Unexpected(string call) => new($"{call} while a dispatch or combine is being issued.");
}
