using System;

namespace NcclEp.Views;

// Completed by the view generator (obj/generated/.../NcclEp.FlatTokens{T}.g.cs): documentation, constructors,
// length properties, indexer and Row.
[EpTokenView(EpLayout.Flat, "Rows:row", "Hidden:element",
    Summary = "Token rows <c>[rows, hidden]</c>: the <see cref=\"EpLayout.Flat\"/> dispatch output, the high-throughput " +
        "<see cref=\"EpLayout.ExpertMajor\"/> output (expert segments packed one after another, offsets in " +
        "<see cref=\"EpHandle.ReceivedExpertOffsets\"/>), or a rank's own tokens and combined output.")]
public readonly ref partial struct FlatTokens<T>
    where T : unmanaged
{
}
