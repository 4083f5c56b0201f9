using System;

namespace NcclEp.Views;

// Completed by the view generator (obj/generated/.../NcclEp.ExpertMajorTokens{T}.g.cs).
[EpTokenView(EpLayout.ExpertMajor, "LocalExperts:expert", "Capacity:slot", "Hidden:element",
    Summary = "Received rows of the low-latency <see cref=\"EpLayout.ExpertMajor\"/> layout: for each local expert, " +
        "<c>worldSize · maxTokensPerRank</c> slots, of which <see cref=\"EpHandle.ReceivedExpertCounts\"/> are in use.")]
public readonly ref partial struct ExpertMajorTokens<T>
    where T : unmanaged
{
}
