using System;
namespace NcclEp;

/// <summary>
/// What the forward dispatch sends (<see cref="EpConfig.DispatchQuantization"/>): token rows as they are, or cast to FP8
/// E4M3 by the sender with one scale per 128 channels of each row, which halves the bytes a bf16 dispatch moves. The
/// combine and both backward passes are not quantized. The rule, bit for bit the same on both backends, is in
/// docs/fp8.md and on <see cref="EpQuantization"/>.
/// </summary>
public enum EpDispatchQuantization
{
    /// <summary>Rows travel and land in the configuration's <see cref="EpConfig.DataType"/> (the default).</summary>
    None = 0,

    /// <summary>
    /// FP8 E4M3 rows with one fp32 scale per 128 channels: <c>scale = amax / 448</c> (DeepEP's and NCCL EP's recipe).
    /// Scales are <see cref="EpDataType.Float32"/>, <see cref="EpConfig.Hidden"/> / 128 per row.
    /// </summary>
    Float8E4M3 = 1,

    /// <summary>
    /// As <see cref="Float8E4M3"/>, each scale rounded up to a power of two (no value saturates; dequantizing is exact
    /// scaling by an exponent). Scales are <see cref="EpDataType.Float32"/>, <see cref="EpConfig.Hidden"/> / 128 per row.
    /// </summary>
    Float8E4M3PowerOfTwo = 2,

    /// <summary>
    /// As <see cref="Float8E4M3PowerOfTwo"/>, each scale stored as its UE8M0 exponent byte, 4 scales packed per 32-bit word
    /// (<see cref="EpDataType.PackedUE8M0"/>, <see cref="EpConfig.Hidden"/> / 512 words per row): the scale format of
    /// DeepGEMM's UE8M0 kernels. Needs a hidden size that is a multiple of 512.
    /// </summary>
    Float8E4M3UE8M0 = 3,
}
