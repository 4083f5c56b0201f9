using System;

namespace NcclEp.Backend;

/// <summary>
/// Where a group's launch stub sends its call while <see cref="EpGroup.DispatchSend"/> or <see cref="EpGroup.CombineSend"/>
/// runs it: the stub checks and packs as for a plain call, and this backend marks the packed arguments as the send half,
/// forwards them to the rank's backend (or the capture sink, which records them), and keeps them for
/// <see cref="EpGroup.Complete"/>. One per group, made at creation: nothing allocates per call.
/// </summary>
internal sealed class SendHalfBackend(EpGroup group) : IEpRankBackend
{
    private IEpRankBackend? _target;

    /// <summary>Whether a send is being issued (the group's calls come here).</summary>
    public bool IsActive => _target is not null;

    public EpBackendKind Kind => Target.Kind;

    private IEpRankBackend Target => _target ?? throw new InvalidOperationException("No send is being issued.");

    /// <summary>The stub's call goes to <paramref name="target"/> as a send half until <see cref="End"/>.</summary>
    public void Begin(IEpRankBackend target) => _target = target;

    public void End() => _target = null;

    public void Dispatch(EpHandle handle, ref readonly EpLaunchArgs args) => Send(EpOperation.Dispatch, handle, in args);

    public void Combine(EpHandle handle, ref readonly EpLaunchArgs args) => Send(EpOperation.Combine, handle, in args);

    /// <summary>Only once the send half was issued (a backend that throws issued nothing) is it in flight.</summary>
    private void Send(EpOperation op, EpHandle handle, ref readonly EpLaunchArgs args)
    {
        EpLaunchArgs send = args;
        send.Half = EpHalf.Send;
        if (op == EpOperation.Dispatch) Target.Dispatch(handle, in send);
        else Target.Combine(handle, in send);
        group.MarkInFlight(EpRoutes.Of(op, send.Pass), handle, op, in send);
    }

    // A send runs one launch stub: nothing else reaches this backend.
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

    private static InvalidOperationException Unexpected(string call) => new($"{call} while a send is being issued.");
}
