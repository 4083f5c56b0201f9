using System;

namespace NcclEp.Views;

// Completed by the view generator (obj/generated/.../NcclEp.BlockScales.g.cs).
[EpMetadataView(EpDataType.Float32, "Blocks:block", "Columns:column", "Rows:row",
    Summary = "The fp32 scales of an FP8 dispatch into a 3-D layout, <c>[blocks, columns, rows]</c>: for each local expert " +
        "(<see cref=\"EpLayout.ExpertMajor\"/>, low latency) or source rank (<see cref=\"EpLayout.RankMajor\"/>), the scale of " +
        "channels <c>128·column ..</c> of each of its rows, rows contiguous (column-major per block).")]
public readonly ref partial struct BlockScales
{
}
