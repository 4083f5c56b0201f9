using System;
namespace NcclEp;

/// <summary>Element type of a tensor.</summary>
public enum EpDataType
{
    /// <summary>bfloat16 (2 bytes): the default for token rows.</summary>
    BFloat16 = 0,

    /// <summary>IEEE float32 (4 bytes): token rows in tests, top-k weights always, and the scales of an FP8 dispatch.</summary>
    Float32 = 1,

    /// <summary>int32 (4 bytes): top-k expert ids and counts.</summary>
    Int32 = 2,

    /// <summary>
    /// FP8 E4M3 (1 byte, <see cref="NcclEp.Float8E4M3"/>): the received rows of a quantized dispatch
    /// (<see cref="EpConfig.DispatchQuantization"/>). Never the element type of token rows.
    /// </summary>
    Float8E4M3 = 3,

    /// <summary>
    /// Four UE8M0 scale exponents packed in 4 bytes (<see cref="NcclEp.PackedUE8M0"/>): the scales of a dispatch with
    /// <see cref="EpDispatchQuantization.Float8E4M3UE8M0"/>.
    /// </summary>
    PackedUE8M0 = 4,
}

/// <summary>Sizes of <see cref="EpDataType"/> values.</summary>
public static class EpDataTypeExtensions
{
    /// <summary>Size of one element in bytes.</summary>
    public static int SizeInBytes(this EpDataType type) => type switch
    {
        EpDataType.BFloat16 => 2,
        EpDataType.Float8E4M3 => 1,
        _ => 4,
    };
}
