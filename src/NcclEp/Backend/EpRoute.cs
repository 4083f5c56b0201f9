namespace NcclEp.Backend;

/// <summary>
/// The two routes of the protocol (docs/kernels.md): each has its own window regions, flags and sequence number, so one
/// operation of each may be in flight at once, and no more (<see cref="EpGroup.DispatchSend(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>).
/// </summary>
internal enum EpRoute
{
    /// <summary>Tokens to the experts: Dispatch (forward) and Combine (backward).</summary>
    Dispatch = 0,

    /// <summary>Rows home: Combine (forward) and Dispatch (backward).</summary>
    Combine = 1,
}

/// <summary>Which route a call takes.</summary>
internal static class EpRoutes
{
    public const int Count = 2;

    public static EpRoute Of(EpOperation op, EpPass pass) =>
        (op == EpOperation.Dispatch) == (pass == EpPass.Forward) ? EpRoute.Dispatch : EpRoute.Combine;

    /// <summary>The public calls that take <paramref name="route"/>, for messages.</summary>
    public static string Calls(EpRoute route) => route == EpRoute.Dispatch
        ? "the dispatch route: Dispatch and Combine(Backward)"
        : "the combine route: Combine and Dispatch(Backward)";
}
