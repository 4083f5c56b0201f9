using System;
using NcclEp.Backend;

namespace NcclEp;

/// <summary>
/// The checks and packing every generated routed dispatch stub (<c>DispatchRouted</c>, <c>DispatchQuantizedRouted</c>)
/// shares: a forward dispatch that takes the routing with the tokens and replaces the handle's routing as
/// <see cref="EpHandle.Update"/> would, then sends (on the Cuda backend in one launch up to one update tile).
/// </summary>
internal static partial class EpLaunchStubs
{
    /// <summary>
    /// The handle needs no routing yet (the call brings it), only to be this group's and free; the route must be free,
    /// and the group's recipe must match the overload (FP8 or not).
    /// </summary>
    private static void CheckRoutedDispatchState(EpGroup group, EpHandle handle, bool quantized)
    {
        CheckHandle(group, handle);
        group.ThrowIfRouteBusy(EpRoutes.Of(EpOperation.Dispatch, EpPass.Forward));
        if (quantized) CheckQuantizedRecipe(group);
        else CheckUnquantizedForward(group, EpPass.Forward);
    }

    /// <summary>
    /// The routing and the tokens of one routed dispatch: ids and weights as Update takes them, and the tokens' rows one
    /// per routed token. The routing is read while the rows land (Cuda: block 0 routes while receiving blocks write), so
    /// it must not lie in an output.
    /// </summary>
    private static void CheckRoutedInputs(in EpShapes s, in EpTensor topkIds, in EpTensor topkWeights, in EpTensor tokens, in EpTensor output, string outputName)
    {
        CheckRouting(in s, in topkIds, in topkWeights);
        CheckHomeRows(in s, topkIds.Dim(0), in tokens, nameof(tokens), "tokens, as in topkIds");
        CheckRoutingApart(in topkIds, in topkWeights, in output, outputName);
    }

    /// <summary>The routing must not lie in <paramref name="output"/> (named by <paramref name="outputName"/>).</summary>
    private static void CheckRoutingApart(in EpTensor topkIds, in EpTensor topkWeights, in EpTensor output, string outputName)
    {
        TensorChecks.NoOverlap(in topkIds, nameof(topkIds), in output, outputName);
        TensorChecks.NoOverlap(in topkWeights, nameof(topkWeights), in output, outputName);
    }

    /// <summary>Adds the routing to a packed forward dispatch: its send half routes first.</summary>
    private static void AddRouting(ref EpLaunchArgs args, in EpTensor topkIds, in EpTensor topkWeights)
    {
        SetRouting(ref args, in topkIds, in topkWeights);
        args.Routing = true;
    }

    /// <summary>After the routed dispatch was issued: the handle holds the new routing and was dispatched forward.</summary>
    private static void MarkRoutedAndDispatched(EpHandle handle, int numTokens)
    {
        handle.MarkRouted(numTokens);
        handle.MarkDispatched();
    }
}
