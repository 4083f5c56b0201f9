using System;

namespace NcclEp.Views;

// Completed by the view generator (obj/generated/.../NcclEp.TopKIdRows.g.cs).
[EpMetadataView(EpDataType.Int32, "Rows:row", "TopK:slot",
    Summary = "Top-k expert ids <c>[rows, topK]</c> (-1 = no expert): the routing passed to " +
        "<see cref=\"EpHandle.Update\"/>, or <see cref=\"EpHandle.ReceivedTopKIds\"/>.")]
public readonly ref partial struct TopKIdRows
{
}
