using System;
using NcclEp.Backend;

namespace NcclEp;

/// <summary>
/// Data-path entry points: check every descriptor against the group's layout, pack the arguments on the
/// stack and hand them to the rank's backend.
/// </summary>
internal static partial class EpLaunchStubs
{
    public static void Update(EpGroup group, EpHandle handle, in EpTensor topkIds, in EpTensor topkWeights, EpStream stream)
    {
        IEpRankBackend backend = group.RankBackend;
        CheckHandle(group, handle);
        EpShapes s = group.Shapes;
        TensorChecks.Common(topkIds, nameof(topkIds), EpDataType.Int32, 2, 4);
        TensorChecks.Common(topkWeights, nameof(topkWeights), EpDataType.Float32, 2, 4);
        TensorChecks.Tokens(topkIds, nameof(topkIds), s.MaxTokensPerRank);
        TensorChecks.Dim(topkIds, nameof(topkIds), 1, s.TopK, "topK");
        TensorChecks.Dim(topkWeights, nameof(topkWeights), 0, topkIds.Dim(0), "tokens, as in topkIds");
        TensorChecks.Dim(topkWeights, nameof(topkWeights), 1, s.TopK, "topK");

        EpLaunchArgs args = default;
        args.NumTokens = (int)topkIds.Dim(0);
        args.TopkIds = topkIds.Data;
        args.TopkIdsRowStride = topkIds.Stride(0) * 4;
        args.TopkWeights = topkWeights.Data;
        args.TopkWeightsRowStride = topkWeights.Stride(0) * 4;
        args.Stream = stream.Handle;
        backend.Update(handle, in args);
        handle.MarkRouted(args.NumTokens);
    }

    public static void Dispatch(EpGroup group, EpHandle handle, in EpTensor tokens, in EpTensor received, EpStream stream, EpPass pass)
    {
        IEpRankBackend backend = group.RankBackend;
        CheckRouted(group, handle);
        if (pass == EpPass.Backward && !handle.HasDispatched)
            ThrowHelper.InvalidOperation("Dispatch(Backward) needs a forward Dispatch on the same handle first: it sends each gradient row back to where that dispatch took it from.");
        CheckPass(pass);
        CheckHomeRows(group.Shapes, handle, tokens, nameof(tokens));
        CheckLayoutRows(group.Shapes, received, nameof(received));
        TensorChecks.NoOverlap(tokens, nameof(tokens), received, nameof(received));

        EpLaunchArgs args = Pack(handle, tokens, received, stream, pass);
        backend.Dispatch(handle, in args);
        if (pass == EpPass.Forward) handle.MarkDispatched();
    }

    public static void Combine(EpGroup group, EpHandle handle, in EpTensor expertOutputs, in EpTensor combined, EpStream stream, EpPass pass)
    {
        IEpRankBackend backend = group.RankBackend;
        CheckRouted(group, handle);
        if (pass == EpPass.Forward && !handle.HasDispatched)
            ThrowHelper.InvalidOperation("Combine needs a forward Dispatch on the same handle first: it sends each expert output back to where that dispatch took the token from.");
        CheckPass(pass);
        CheckLayoutRows(group.Shapes, expertOutputs, nameof(expertOutputs));
        CheckHomeRows(group.Shapes, handle, combined, nameof(combined));
        TensorChecks.NoOverlap(expertOutputs, nameof(expertOutputs), combined, nameof(combined));

        EpLaunchArgs args = Pack(handle, combined, expertOutputs, stream, pass);
        backend.Combine(handle, in args);
    }

    private static EpLaunchArgs Pack(EpHandle handle, in EpTensor home, in EpTensor rows, EpStream stream, EpPass pass)
    {
        int size = home.DataType.SizeInBytes();
        EpLaunchArgs args = default;
        args.Pass = pass;
        args.NumTokens = handle.NumTokens;
        args.Home = home.Data;
        args.HomeRowStride = home.Stride(0) * size;
        args.Rows = rows.Data;
        args.RowsStride0 = rows.Stride(0) * size;
        args.RowsStride1 = rows.Rank == 3 ? rows.Stride(1) * size : args.RowsStride0;
        args.Stream = stream.Handle;
        return args;
    }

    private static void CheckHomeRows(in EpShapes s, EpHandle handle, in EpTensor t, string name)
    {
        TensorChecks.Common(t, name, s.DataType, 2, TensorChecks.RowAlignment);
        TensorChecks.Dim(t, name, 0, handle.NumTokens, "tokens of the last Update");
        TensorChecks.Dim(t, name, 1, s.Hidden, "hidden");
    }

    private static void CheckLayoutRows(in EpShapes s, in EpTensor t, string name)
    {
        switch (s.Layout)
        {
            case EpLayout.ExpertMajor when s.Mode == EpMode.LowLatency:
                TensorChecks.Common(t, name, s.DataType, 3, TensorChecks.RowAlignment);
                TensorChecks.Dim(t, name, 0, s.LocalExperts, "local experts");
                TensorChecks.Dim(t, name, 1, (long)s.WorldSize * s.MaxTokensPerRank, "worldSize × maxTokensPerRank");
                TensorChecks.Dim(t, name, 2, s.Hidden, "hidden");
                break;
            case EpLayout.RankMajor:
                TensorChecks.Common(t, name, s.DataType, 3, TensorChecks.RowAlignment);
                TensorChecks.Dim(t, name, 0, s.WorldSize, "world size");
                TensorChecks.Dim(t, name, 1, s.MaxTokensPerRank, "maxTokensPerRank");
                TensorChecks.Dim(t, name, 2, s.Hidden, "hidden");
                break;
            default:
                TensorChecks.Common(t, name, s.DataType, 2, TensorChecks.RowAlignment);
                TensorChecks.DimAtLeast(t, name, 0, s.ReceiveRows, "receive rows, EpConfig.ReceiveRows");
                TensorChecks.Dim(t, name, 1, s.Hidden, "hidden");
                break;
        }
    }

    private static void CheckHandle(EpGroup group, EpHandle handle)
    {
        if (handle is null) ThrowHelper.Null(nameof(handle));
        if (handle.IsDisposed) ThrowHelper.Disposed(nameof(EpHandle));
        if (!ReferenceEquals(handle.Group, group))
            ThrowHelper.Argument(nameof(handle), "The handle belongs to another group (or another rank).");
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
}
