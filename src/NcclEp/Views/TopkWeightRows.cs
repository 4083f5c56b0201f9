using System;

namespace NcclEp;

// Completed by the view generator (obj/generated/.../NcclEp.TopkWeightRows.g.cs).
[EpMetadataView(EpDataType.Float32, "Rows:row", "TopK:slot",
    Summary = "Top-k router weights <c>[rows, topK]</c>: the routing passed to <see cref=\"EpHandle.Update\"/>, " +
        "or <see cref=\"EpHandle.ReceivedTopkWeights\"/>.")]
public readonly ref partial struct TopkWeightRows
{
}
