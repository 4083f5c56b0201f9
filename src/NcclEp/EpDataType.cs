using System;
namespace NcclEp;

/// <summary>Element type of a tensor.</summary>
public enum EpDataType
{
    /// <summary>bfloat16 (2 bytes): the default for token rows.</summary>
    BFloat16 = 0,

    /// <summary>IEEE float32 (4 bytes): token rows in tests, top-k weights always.</summary>
    Float32 = 1,

    /// <summary>int32 (4 bytes): top-k expert ids and counts.</summary>
    Int32 = 2,
}

/// <summary>Sizes of <see cref="EpDataType"/> values.</summary>
public static class EpDataTypeExtensions
{
    /// <summary>Size of one element in bytes.</summary>
    public static int SizeInBytes(this EpDataType type) => type == EpDataType.BFloat16 ? 2 : 4;
}
