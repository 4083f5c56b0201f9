using System;

namespace NcclEp;

/// <summary>The dispatch's quantization recipe and the sizes that follow from it.</summary>
public readonly partial record struct EpConfig
{
    // DispatchQuantization itself is declared in EpConfig.cs: a record struct keeps all its fields in one declaration.

    /// <summary>Whether the forward dispatch casts rows to FP8 (<see cref="DispatchQuantization"/> is not None).</summary>
    public bool IsDispatchQuantized => DispatchQuantization != EpDispatchQuantization.None;

    /// <summary>Element type of the forward dispatch's output rows: <see cref="EpDataType.Float8E4M3"/> when quantized, else <see cref="DataType"/>.</summary>
    public EpDataType ReceivedDataType => IsDispatchQuantized ? EpDataType.Float8E4M3 : DataType;

    /// <summary>Bytes of one row of the forward dispatch's output.</summary>
    public int ReceivedRowBytes => Hidden * ReceivedDataType.SizeInBytes();

    /// <summary>
    /// Scale columns per received row: <see cref="Hidden"/> / 128 fp32 scales, or <see cref="Hidden"/> / 512
    /// <see cref="PackedUE8M0"/> words for <see cref="EpDispatchQuantization.Float8E4M3UE8M0"/>; 0 without quantization.
    /// </summary>
    public int ScaleColumns => DispatchQuantization switch
    {
        EpDispatchQuantization.None => 0,
        EpDispatchQuantization.Float8E4M3UE8M0 => Hidden / (EpQuantization.GroupSize * EpQuantization.PackedGroups),
        _ => Hidden / EpQuantization.GroupSize,
    };

    /// <summary>Element type of the scales tensor: <see cref="EpDataType.PackedUE8M0"/> for UE8M0, else <see cref="EpDataType.Float32"/>.</summary>
    public EpDataType ScalesDataType =>
        DispatchQuantization == EpDispatchQuantization.Float8E4M3UE8M0 ? EpDataType.PackedUE8M0 : EpDataType.Float32;

    /// <summary>
    /// Bytes of one row in a forward dispatch message, as it crosses to a peer (the message header left out): the row in
    /// <see cref="DataType"/>, or its FP8 channels plus its scales (4 bytes per 128 channels; 1 for UE8M0).
    /// </summary>
    public int DispatchRowBytes => IsDispatchQuantized
        ? Hidden + (Hidden / EpQuantization.GroupSize * (DispatchQuantization == EpDispatchQuantization.Float8E4M3UE8M0 ? 1 : 4))
        : RowBytes;
}
