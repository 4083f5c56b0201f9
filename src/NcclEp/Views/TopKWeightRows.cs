using System;

namespace NcclEp.Views;

// Completed by the view generator (obj/generated/.../NcclEp.TopKWeightRows.g.cs).
[EpMetadataView(EpDataType.Float32, "Rows:row", "TopK:slot",
    Summary = "Top-k router weights <c>[rows, topK]</c>: the routing passed to <see cref=\"EpHandle.Update\"/>, " +
        "or <see cref=\"EpHandle.ReceivedTopKWeights\"/>.")]
public readonly ref partial struct TopKWeightRows
{
}
