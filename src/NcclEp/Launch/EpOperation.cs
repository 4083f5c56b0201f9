using System;

namespace NcclEp;

/// <summary>The three data-path operations, each one kernel launch.</summary>
internal enum EpOperation
{
    /// <summary><see cref="EpHandle.Update"/>.</summary>
    Update = 0,

    /// <summary><see cref="EpGroup.Dispatch"/>.</summary>
    Dispatch = 1,

    /// <summary><see cref="EpGroup.Combine"/>.</summary>
    Combine = 2,
}
