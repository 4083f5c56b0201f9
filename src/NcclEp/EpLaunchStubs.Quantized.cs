using System;
using NcclEp.Backend;

namespace NcclEp;

/// <summary>The checks and packing every generated FP8 dispatch stub (<c>DispatchQuantized</c>) shares.</summary>
internal static partial class EpLaunchStubs
{
    /// <summary>The plain dispatch of a quantized group: its forward pass needs the scales tensor.</summary>
    private static void CheckUnquantizedForward(EpGroup group, EpPass pass)
    {
        if (pass == EpPass.Forward && group.Shapes.Quantization != EpDispatchQuantization.None)
        {
            ThrowHelper.Argument("receivedScales",
                $"The group's DispatchQuantization is {group.Shapes.Quantization}: the forward dispatch writes FP8 rows and their scales, so it needs " +
                "the receivedScales tensor: call Dispatch(handle, tokens, received, receivedScales, stream), or with the routing " +
                "Dispatch(handle, topkIds, topkWeights, tokens, received, receivedScales, stream).");
        }
    }

    private static void CheckQuantizedDispatchState(EpGroup group, EpHandle handle)
    {
        CheckRouted(group, handle);
        group.ThrowIfRouteBusy(EpRoutes.Of(EpOperation.Dispatch, EpPass.Forward));
        CheckQuantizedRecipe(group);
    }

    /// <summary>The FP8 dispatch of a group without a recipe: it has no scales.</summary>
    private static void CheckQuantizedRecipe(EpGroup group)
    {
        if (group.Shapes.Quantization == EpDispatchQuantization.None)
        {
            ThrowHelper.Argument("receivedScales",
                "The group's DispatchQuantization is None: its dispatch sends unquantized rows and has no scales; leave receivedScales out " +
                "(or create the group with an FP8 EpConfig.DispatchQuantization).");
        }
    }

    /// <summary>The scales' pointer and byte strides: <c>[blocks, columns, rows]</c> (3-D layouts) or <c>[columns, rows]</c>.</summary>
    private static void PackScales(ref EpLaunchArgs args, in EpShapes s, in EpTensor scales)
    {
        int size = scales.DataType.SizeInBytes();
        args.Quantization = s.Quantization;
        args.Scales = scales.Data;
        args.ScalesStride0 = scales.DimensionCount == 3 ? scales.Stride(0) * size : 0;
        args.ScalesColumnStride = scales.Stride(scales.DimensionCount - 2) * size;
    }
}
