using System;

namespace NcclEp;

/// <summary>The data-path operations, each one kernel launch.</summary>
internal enum EpOperation
{
    /// <summary><see cref="EpHandle.Update"/>.</summary>
    Update = 0,

    /// <summary><see cref="EpGroup.Dispatch(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>.</summary>
    Dispatch = 1,

    /// <summary><see cref="EpGroup.Combine"/>.</summary>
    Combine = 2,

    /// <summary>The FP8 forward dispatch (<see cref="EpGroup.Dispatch(EpHandle, in EpTensor, in EpTensor, in EpTensor, EpStream)"/>); compiled only for an FP8 recipe.</summary>
    QuantizedDispatch = 3,
}
