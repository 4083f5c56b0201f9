using System;
using NcclEp.Backend;

namespace NcclEp;

/// <summary>
/// Data-path entry points. <c>Update</c>, <c>Dispatch</c> and <c>Combine</c> are generated (the router, a switch on
/// the group's (mode, layout)); each sends the call to the generated stub of that specialization (declared in
/// Launch/EpLaunchStubs.Specializations.cs), which checks every descriptor, packs the arguments on the stack and
/// hands them to the rank's backend. This part holds the checks that every stub shares.
/// </summary>
internal static partial class EpLaunchStubs
{
    private static void CheckRouting(in EpShapes s, in EpTensor topkIds, in EpTensor topkWeights)
    {
        TensorChecks.Common(topkIds, nameof(topkIds), EpDataType.Int32, 2, 4);
        TensorChecks.Common(topkWeights, nameof(topkWeights), EpDataType.Float32, 2, 4);
        TensorChecks.Tokens(topkIds, nameof(topkIds), s.MaxTokensPerRank);
        TensorChecks.Dim(topkIds, nameof(topkIds), 1, s.TopK, "topK");
        TensorChecks.Dim(topkWeights, nameof(topkWeights), 0, topkIds.Dim(0), "tokens, as in topkIds");
        TensorChecks.Dim(topkWeights, nameof(topkWeights), 1, s.TopK, "topK");
    }

    private static EpLaunchArgs PackRouting(in EpTensor topkIds, in EpTensor topkWeights, EpStream stream)
    {
        EpLaunchArgs args = default;
        SetRouting(ref args, in topkIds, in topkWeights);
        args.Stream = stream.Handle;
        return args;
    }

    /// <summary>The routing's pointers, byte strides and tokens (what Update takes, and a dispatch that routes first).</summary>
    private static void SetRouting(ref EpLaunchArgs args, in EpTensor topkIds, in EpTensor topkWeights)
    {
        args.NumTokens = (int)topkIds.Dim(0);
        args.TopKIds = topkIds.Data;
        args.TopKIdsRowStride = topkIds.Stride(0) * 4;
        args.TopKWeights = topkWeights.Data;
        args.TopKWeightsRowStride = topkWeights.Stride(0) * 4;
    }

    private static void CheckDispatchState(EpGroup group, EpHandle handle, EpPass pass)
    {
        CheckRouted(group, handle);
        if (pass == EpPass.Backward && !handle.HasDispatched)
            ThrowHelper.InvalidOperation("Dispatch(Backward) needs a forward Dispatch on the same handle first: it sends each gradient row back to where that dispatch took it from.");
        CheckPass(pass);
        group.ThrowIfRouteBusy(EpRoutes.Of(EpOperation.Dispatch, pass));
        CheckUnquantizedForward(group, pass);
    }

    private static void CheckCombineState(EpGroup group, EpHandle handle, EpPass pass)
    {
        CheckRouted(group, handle);
        if (pass == EpPass.Forward && !handle.HasDispatched)
            ThrowHelper.InvalidOperation("Combine needs a forward Dispatch on the same handle first: it sends each expert output back to where that dispatch took the token from.");
        CheckPass(pass);
        group.ThrowIfRouteBusy(EpRoutes.Of(EpOperation.Combine, pass));
    }

    private static void CheckHomeRows(in EpShapes s, EpHandle handle, in EpTensor t, string name) =>
        CheckHomeRows(in s, handle.NumTokens, in t, name, "tokens of the last Update");

    /// <summary><c>[tokens, hidden]</c> rows of this rank; <paramref name="meaning"/> says where the token count comes from.</summary>
    private static void CheckHomeRows(in EpShapes s, long tokens, in EpTensor t, string name, string meaning)
    {
        TensorChecks.Common(t, name, s.DataType, 2, TensorChecks.RowAlignment);
        TensorChecks.Dim(t, name, 0, tokens, meaning);
        TensorChecks.Dim(t, name, 1, s.Hidden, "hidden");
    }

    private static void CheckHandle(EpGroup group, EpHandle handle)
    {
        if (handle is null) ThrowHelper.NullArgument(nameof(handle));
        if (handle.IsDisposed) ThrowHelper.Disposed(nameof(EpHandle));
        if (!ReferenceEquals(handle.Group, group))
            ThrowHelper.Argument(nameof(handle), "The handle belongs to another group (or another rank).");
        if (handle.InFlightRoute is not null)
            ThrowHelper.InvalidOperation("The handle has a send in flight (DispatchSend or CombineSend): call EpGroup.Complete on it before any other call on the handle.");
    }

    private static void CheckRouted(EpGroup group, EpHandle handle)
    {
        CheckHandle(group, handle);
        if (!handle.HasRouting)
            ThrowHelper.InvalidOperation("The handle has no routing yet: call EpHandle.Update first.");
    }

    private static void CheckPass(EpPass pass)
    {
        if (pass is not (EpPass.Forward or EpPass.Backward))
            ThrowHelper.OutOfRange(nameof(pass), (int)pass, "is not an EpPass");
    }

    /// <summary>Reached only for a (mode, layout) that <see cref="EpConfig.Validate"/> rejects.</summary>
    private static void ThrowNoStub(EpMode mode, EpLayout layout) =>
        ThrowHelper.InvalidOperation($"No launch stubs for mode {mode} with layout {layout}.");
}
