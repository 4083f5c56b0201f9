using System;

namespace NcclEp.Views;

// Completed by the view generator (obj/generated/.../NcclEp.Counts.g.cs).
[EpMetadataView(EpDataType.Int32, "Length:index",
    Summary = "Int32 counts <c>[n]</c>: <see cref=\"EpHandle.ReceivedRankCounts\"/>, <see cref=\"EpHandle.ReceivedExpertCounts\"/>, " +
        "<see cref=\"EpHandle.ReceivedExpertOffsets\"/> or <see cref=\"EpHandle.ReceivedTotal\"/>.")]
public readonly ref partial struct Counts
{
}
