using System;

namespace NcclEp.Views;

// Completed by the view generator (obj/generated/.../NcclEp.PackedFlatScales.g.cs).
[EpMetadataView(EpDataType.PackedUE8M0, "Words:word", "Rows:row",
    Summary = "The UE8M0 scales of an FP8 dispatch into a 2-D layout, <c>[words, rows]</c>: as <see cref=\"FlatScales\"/>, " +
        "each word holding the exponents of channel groups <c>4·word .. 4·word+3</c>.")]
public readonly ref partial struct PackedFlatScales
{
}
