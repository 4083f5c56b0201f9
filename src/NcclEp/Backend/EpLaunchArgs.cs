using System;
using System.Runtime.InteropServices;

namespace NcclEp.Backend;

/// <summary>
/// The arguments of one data-path call after validation, packed on the caller's stack and passed by
/// reference to the backend (the Cuda backend copies the fields into its kernel parameter block).
/// Strides are in bytes; the last dimension of every row tensor is contiguous.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct EpLaunchArgs
{
    /// <summary>Forward or backward.</summary>
    public EpPass Pass;

    /// <summary>Tokens on this rank (rows of <see cref="Home"/>).</summary>
    public int NumTokens;

    /// <summary>Home-side rows <c>[tokens, hidden]</c>: dispatch input (or its gradient), combine output (or its gradient).</summary>
    public nint Home;

    /// <summary>Bytes between rows of <see cref="Home"/>.</summary>
    public long HomeRowStride;

    /// <summary>Layout-side rows: the dispatch output / combine input, in the group's layout.</summary>
    public nint Rows;

    /// <summary>Bytes between entries of the first dimension of <see cref="Rows"/> (experts or ranks; rows for 2-D layouts).</summary>
    public long RowsStride0;

    /// <summary>Bytes between rows inside the first dimension (3-D layouts; equals <see cref="RowsStride0"/> for 2-D).</summary>
    public long RowsStride1;

    /// <summary>
    /// Forward dispatch that brings its own routing (the routed <c>EpGroup.Dispatch</c> and <c>DispatchSend</c>): its send
    /// half first replaces the handle's routing with <see cref="TopKIds"/> and <see cref="TopKWeights"/> of
    /// <see cref="NumTokens"/> tokens, exactly as <c>EpHandle.Update</c> would, then sends. The receive half ignores it.
    /// </summary>
    public bool Routing;

    /// <summary>Update (and a dispatch with <see cref="Routing"/>): top-k expert ids <c>[tokens, topK]</c> (int32).</summary>
    public nint TopKIds;

    /// <summary>Bytes between rows of <see cref="TopKIds"/>.</summary>
    public long TopKIdsRowStride;

    /// <summary>Update (and a dispatch with <see cref="Routing"/>): top-k weights <c>[tokens, topK]</c> (float32).</summary>
    public nint TopKWeights;

    /// <summary>Bytes between rows of <see cref="TopKWeights"/>.</summary>
    public long TopKWeightsRowStride;

    /// <summary>The stream the call is ordered on.</summary>
    public nint Stream;

    /// <summary>Dispatch and combine: which halves the call runs (<see cref="EpHalf.Both"/> unless it is a send or a complete).</summary>
    public EpHalf Half;

    /// <summary>Forward dispatch of an FP8 recipe: the recipe (<see cref="Rows"/> are FP8, <see cref="Scales"/> set); None otherwise.</summary>
    public EpDispatchQuantization Quantization;

    /// <summary>FP8 dispatch: the scales tensor, <c>[blocks, scaleColumns, rows]</c> or <c>[scaleColumns, rows]</c>, rows contiguous (4-byte elements).</summary>
    public nint Scales;

    /// <summary>Bytes between blocks (experts or source ranks) of a 3-D scales tensor; 0 for 2-D.</summary>
    public long ScalesStride0;

    /// <summary>Bytes between scale columns.</summary>
    public long ScalesColumnStride;
}
