using System;

namespace NcclEp;

/// <summary>
/// Makes the launch-stub generator complete a <c>static partial class</c> nested in <see cref="EpLaunchStubs"/>
/// with the Update, Dispatch and Combine stubs (and optionally the FP8 dispatch) of one (mode, layout), route the group's calls of that
/// (mode, layout) to them, and list their kernels in <c>EpKernelTable</c>.
/// </summary>
/// <remarks>
/// Each entry of <see cref="Rows"/> is a dimension of the layout-side rows tensor (dispatch output, combine input):
/// <c>"[&gt;=] term[*term] [: meaning]"</c>, where a term is a group size of <see cref="EpShapes"/>
/// (<c>worldSize</c>, <c>localExperts</c>, <c>numExperts</c>, <c>hidden</c>, <c>topK</c>, <c>maxTokensPerRank</c>,
/// <c>receiveRows</c>) or a positive integer, <c>&gt;=</c> makes it a lower bound, and the meaning is quoted in the
/// error message.
/// </remarks>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
internal sealed class EpSpecializationAttribute : Attribute
{
    public EpSpecializationAttribute(
        EpMode mode, EpLayout layout, string updateKernel, string dispatchKernel, string combineKernel, params string[] rows)
    {
        Mode = mode;
        Layout = layout;
        UpdateKernel = updateKernel;
        DispatchKernel = dispatchKernel;
        CombineKernel = combineKernel;
        Rows = rows;
    }

    /// <summary>The mode of the specialization.</summary>
    public EpMode Mode { get; }

    /// <summary>The layout of the specialization; must be valid for <see cref="Mode"/>.</summary>
    public EpLayout Layout { get; }

    /// <summary>CUDA entry point the Update stub launches.</summary>
    public string UpdateKernel { get; }

    /// <summary>CUDA entry point the Dispatch stub launches.</summary>
    public string DispatchKernel { get; }

    /// <summary>CUDA entry point the Combine stub launches.</summary>
    public string CombineKernel { get; }

    /// <summary>Dimensions of the layout-side rows tensor, outermost first; the last is <c>hidden</c>.</summary>
    public string[] Rows { get; }

    /// <summary>
    /// CUDA entry point of the FP8 forward dispatch; when set, the class also gets a <c>DispatchQuantized</c> stub (FP8
    /// rows, and scales of shape: the rows' leading dimensions with the scale columns before the last of them) and the
    /// kernel table lists the kernel.
    /// </summary>
    public string? QuantizedDispatchKernel { get; set; }
}
