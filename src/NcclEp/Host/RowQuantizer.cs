using System;
using System.Runtime.CompilerServices;

namespace NcclEp.Host;

/// <summary>
/// The sender's half of an FP8 dispatch on the Host backend: one token row into the payload of its message, the FP8
/// channels (hidden bytes) followed by the scales, exactly as the kernels' <c>write_quantized_row</c> (ep_fp8.cuh) and
/// by the rule of <see cref="EpQuantization"/>.
/// </summary>
internal static unsafe class RowQuantizer
{
    /// <summary>Quantizes <paramref name="hidden"/> elements at <paramref name="row"/> into <paramref name="payload"/>.</summary>
    public static void Quantize<TElement>(byte* row, byte* payload, int hidden, EpDispatchQuantization recipe)
        where TElement : unmanaged, IRowElement
    {
        byte* scales = payload + hidden;
        const int group = EpQuantization.GroupSize;
        for (int g = 0; g < hidden / group; g++)
        {
            int first = g * group;
            uint amax = 0;
            for (int e = first; e < first + group; e++) amax = EpQuantization.AbsMaxBits(amax, TElement.Load(row, e));
            float scale = EpQuantization.ScaleOf(amax, recipe);
            for (int e = first; e < first + group; e++) payload[e] = Float8E4M3.RoundBits(TElement.Load(row, e) / scale);
            if (recipe == EpDispatchQuantization.Float8E4M3UE8M0) scales[g] = (byte)(BitConverter.SingleToUInt32Bits(scale) >> 23);
            else ((float*)scales)[g] = scale;
        }
    }

    /// <summary>
    /// A scale word of an all-zero row (what a padding row of the high-throughput expert-major layout gets): 2^-126 as
    /// fp32, or four UE8M0 bytes of 1 (2^-126).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint ZeroRowScaleWord(EpDispatchQuantization recipe) =>
        recipe == EpDispatchQuantization.Float8E4M3UE8M0 ? 0x0101_0101u : BitConverter.SingleToUInt32Bits(EpQuantization.SmallestScale);
}
