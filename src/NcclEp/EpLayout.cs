using System;
namespace NcclEp;

/// <summary>Where the received token rows of a dispatch land (DESIGN.md, "Layouts of the dispatch output").</summary>
public enum EpLayout
{
    /// <summary>
    /// High throughput only: <c>[rows, hidden]</c>, one row per (source token, this rank), grouped by source
    /// rank in rank order, source token order kept. The number of rows lives on the device
    /// (<see cref="EpHandle.ReceivedTotal"/>).
    /// </summary>
    Flat = 0,

    /// <summary>
    /// One row per (source token, top-k slot) whose expert lives on this rank, grouped by local expert;
    /// inside an expert, by source rank, then source token. Low latency: <c>[localExperts, worldSize·maxTokensPerRank, hidden]</c>.
    /// High throughput: <c>[rows, hidden]</c> with expert segments packed one after another, each padded with
    /// zero rows to a multiple of <see cref="EpConfig.ExpertAlignment"/> (offsets in <see cref="EpHandle.ReceivedExpertOffsets"/>).
    /// </summary>
    ExpertMajor = 1,

    /// <summary>
    /// Low latency only: <c>[worldSize, maxTokensPerRank, hidden]</c>, one row per (source token, this rank),
    /// with the token's top-k ids and weights beside it (<see cref="EpHandle.ReceivedTopKIds"/>).
    /// </summary>
    RankMajor = 2,
}
