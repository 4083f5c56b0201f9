using System;

namespace NcclEp;

// Completed by the view generator (obj/generated/.../NcclEp.TopkIdRows.g.cs).
[EpMetadataView(EpDataType.Int32, "Rows:row", "TopK:slot",
    Summary = "Top-k expert ids <c>[rows, topK]</c> (-1 = no expert): the routing passed to " +
        "<see cref=\"EpHandle.Update\"/>, or <see cref=\"EpHandle.ReceivedTopkIds\"/>.")]
public readonly ref partial struct TopkIdRows
{
}
