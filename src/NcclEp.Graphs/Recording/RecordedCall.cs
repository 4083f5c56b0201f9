using System;
using NcclEp.Backend;

namespace NcclEp.Graphs.Recording;

/// <summary>What a recorded call of a Host step is.</summary>
internal enum RecordedKind
{
    /// <summary><see cref="EpHandle.Update"/>.</summary>
    Update,

    /// <summary><see cref="EpGroup.Dispatch(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/> (either pass).</summary>
    Dispatch,

    /// <summary><see cref="EpGroup.Combine"/> (either pass).</summary>
    Combine,

    /// <summary>The caller's <see cref="IEpStepWork"/>.</summary>
    Work,
}

/// <summary>
/// One call of a step recorded on the Host backend: the arguments exactly as the launch stub packed them after
/// its checks (what the Cuda backend would have baked into the kernel node), or the caller's work.
/// </summary>
internal struct RecordedCall
{
    public RecordedKind Kind;
    public EpHandle? Handle;
    public EpLaunchArgs Args;
    public IEpStepWork? Work;

    /// <summary>The kernel a Cuda graph node would run: the operation and, for dispatch and combine, the pass.</summary>
    public readonly string Describe() => Kind switch
    {
        RecordedKind.Update => "Update",
        RecordedKind.Work => "caller work",
        _ => Args.Half switch
        {
            EpHalf.Send => $"{Kind}Send({Args.Pass})",
            EpHalf.Receive => $"Complete of {Kind}({Args.Pass})",
            _ => $"{Kind}({Args.Pass})",
        },
    };

    /// <summary>Whether a Cuda graph node of <paramref name="other"/> could be updated in place to this one.</summary>
    public readonly bool SameNode(in RecordedCall other) =>
        Kind == other.Kind && (Kind is RecordedKind.Update or RecordedKind.Work || (Args.Pass == other.Args.Pass && Args.Half == other.Args.Half));
}
