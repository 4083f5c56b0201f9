using System;

namespace NcclEp.Views;

// Completed by the view generator (obj/generated/.../NcclEp.RankMajorTokens{T}.g.cs).
[EpTokenView(EpLayout.RankMajor, "WorldSize:source", "MaxTokensPerRank:token", "Hidden:element",
    Summary = "Received rows of the low-latency <see cref=\"EpLayout.RankMajor\"/> layout: for each source rank, up to " +
        "<c>maxTokensPerRank</c> tokens (<see cref=\"EpHandle.ReceivedRankCounts\"/> in use), top-k ids and weights beside them.")]
public readonly ref partial struct RankMajorTokens<T>
    where T : unmanaged
{
}
