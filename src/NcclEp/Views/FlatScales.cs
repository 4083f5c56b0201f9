using System;

namespace NcclEp.Views;

// Completed by the view generator (obj/generated/.../NcclEp.FlatScales.g.cs).
[EpMetadataView(EpDataType.Float32, "Columns:column", "Rows:row",
    Summary = "The fp32 scales of an FP8 dispatch into a 2-D layout (<see cref=\"EpLayout.Flat\"/>, high-throughput " +
        "<see cref=\"EpLayout.ExpertMajor\"/>), <c>[columns, rows]</c>: the scale of channels <c>128·column ..</c> of each " +
        "received row, rows contiguous (column-major; an expert's segment is a range of rows).")]
public readonly ref partial struct FlatScales
{
}
