using System;

namespace NcclEp.Views;

// Completed by the view generator (obj/generated/.../NcclEp.PackedBlockScales.g.cs).
[EpMetadataView(EpDataType.PackedUE8M0, "Blocks:block", "Words:word", "Rows:row",
    Summary = "The UE8M0 scales of an FP8 dispatch into a 3-D layout, <c>[blocks, words, rows]</c>: as " +
        "<see cref=\"BlockScales\"/>, each word holding the exponents of channel groups <c>4·word .. 4·word+3</c>.")]
public readonly ref partial struct PackedBlockScales
{
}
