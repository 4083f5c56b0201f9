using System;

namespace NcclEp.Views;

// Completed by the view generator (obj/generated/.../NcclEp.SourceInfoRows.g.cs).
[EpMetadataView(EpDataType.Int32, "Rows:row", Record = typeof(EpSourceInfo),
    Summary = "Where each received row came from: <see cref=\"EpHandle.ReceivedSourceInfo\"/> read as one " +
        "<see cref=\"EpSourceInfo\"/> per row.")]
public readonly ref partial struct SourceInfoRows
{
}
