using System;
namespace NcclEp;

/// <summary>
/// Direction of a <see cref="EpGroup.Dispatch(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/> or <see cref="EpGroup.Combine"/> call.
/// </summary>
/// <remarks>
/// The backward pass moves gradients along the opposite route, so training needs no second handle:
/// <list type="bullet">
/// <item><description><b>Dispatch, Backward</b>: reads the gradient of the dispatch output (in the dispatch layout)
/// and writes the gradient of the input tokens, <c>dx[t] = Σ dy[t, copy]</c> over every copy the forward
/// dispatch made of token <c>t</c>, summed in fp32 in the combine order. It travels along the combine route
/// and needs a forward dispatch on the same handle (for the source of each row).</description></item>
/// <item><description><b>Combine, Backward</b>: reads the gradient of the combined output <c>[tokens, hidden]</c>
/// and writes the gradient of the expert outputs in the dispatch layout. For <see cref="EpLayout.ExpertMajor"/>
/// a row for slot <c>k</c> is <c>w[t,k]·g[t]</c> (fp32 product, rounded once); for the per-rank layouts
/// (<see cref="EpLayout.Flat"/>, <see cref="EpLayout.RankMajor"/>) it is <c>g[t]</c>, because their forward
/// combine is an unweighted sum. It travels along the dispatch route.</description></item>
/// </list>
/// </remarks>
public enum EpPass
{
    /// <summary>Tokens out to the experts (dispatch) or expert outputs home (combine).</summary>
    Forward = 0,

    /// <summary>Gradients along the opposite route; see the type's remarks.</summary>
    Backward = 1,
}
