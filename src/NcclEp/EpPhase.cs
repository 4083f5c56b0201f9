using System;
namespace NcclEp;

/// <summary>The step of an operation during which a wait on a peer happened (reported by time-outs).</summary>
public enum EpPhase
{
    /// <summary>No phase (no error).</summary>
    None = 0,

    /// <summary>Dispatch: waiting for a peer's counts and the end of its token writes.</summary>
    DispatchReceive = 1,

    /// <summary>Combine: waiting for a peer's expert outputs.</summary>
    CombineReceive = 2,

    /// <summary>Group creation: exchanging and checking the peer-address stamps.</summary>
    Setup = 3,

    /// <summary>
    /// Update: the routing kernel (bad expert ids are reported in this phase). A dispatch that routes itself reports here,
    /// with this rank as the peer, a sending block that waited in vain for its own first block's routing.
    /// </summary>
    Update = 4,
}
