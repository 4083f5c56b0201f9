namespace NcclEp.Host;

/// <summary>Points inside a Host backend call where <see cref="HostFabric.PhaseHook"/> runs (tests: delays that put ranks out of step).</summary>
internal enum HostPhase
{
    /// <summary>A data-path call begins (before it checks whether its rank was masked).</summary>
    CallStart,

    /// <summary>Dispatch route: every live destination has this rank's counts and count flag.</summary>
    CountsPublished,

    /// <summary>Dispatch route: one chunk of messages and its flag are written to a destination.</summary>
    MessageChunkSent,

    /// <summary>Dispatch route: every message is sent; the receive half begins.</summary>
    ReceiveStart,

    /// <summary>Combine route: every live peer has this rank's presence flag.</summary>
    PresencePublished,

    /// <summary>Combine route: the rows answering one chunk of a source's messages and their flag are home.</summary>
    RowChunkSent,

    /// <summary>Combine route: every row is sent; the waits and the reduce begin.</summary>
    ReduceStart,
}

/// <summary>A test hook called on the rank's own thread at each <see cref="HostPhase"/>; null (the default) costs one load and a branch.</summary>
internal delegate void HostPhaseHook(int rank, HostPhase phase);
