using System;
namespace NcclEp;

/// <summary>How a group moves tokens: which kernels it compiles and which layouts it accepts.</summary>
public enum EpMode
{
    /// <summary>
    /// Low latency (decode): 1 to about 128 tokens per rank, each token sent once per destination rank
    /// straight into the peer's receive buffer, double-buffered so back-to-back operations need no barrier.
    /// Layouts: <see cref="EpLayout.ExpertMajor"/> and <see cref="EpLayout.RankMajor"/>.
    /// </summary>
    LowLatency = 0,

    /// <summary>
    /// High throughput (prefill, training): thousands of tokens per rank; counts are exchanged first,
    /// then rows are copied in bulk. Layouts: <see cref="EpLayout.Flat"/> and <see cref="EpLayout.ExpertMajor"/>
    /// (each expert's segment padded to <see cref="EpConfig.ExpertAlignment"/>).
    /// </summary>
    HighThroughput = 1,
}
