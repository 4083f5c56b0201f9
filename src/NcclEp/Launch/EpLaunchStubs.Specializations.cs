using System;

namespace NcclEp;

// The launch stubs, one class per valid (mode, layout). The launch-stub generator completes each class with
// Update, Dispatch, Combine and the FP8 DispatchQuantized (obj/generated/.../NcclEp.EpLaunchStubs.<Class>.g.cs), generates the
// router EpLaunchStubs.Update/Dispatch/Combine/DispatchQuantized (a switch on the group's (mode, layout), NcclEp.EpLaunchStubs.Router.g.cs)
// and the kernel table of the Cuda backend (NcclEp.EpKernelTable.g.cs) from these declarations.
internal static partial class EpLaunchStubs
{
    [EpSpecialization(EpMode.LowLatency, EpLayout.ExpertMajor,
        updateKernel: "ncclep_update", dispatchKernel: "ncclep_dispatch", combineKernel: "ncclep_combine",
        rows: new[] { "localExperts: local experts", "worldSize*maxTokensPerRank: worldSize × maxTokensPerRank", "hidden" },
        QuantizedDispatchKernel = "ncclep_dispatch_fp8")]
    internal static partial class LowLatencyExpertMajor
    {
    }

    [EpSpecialization(EpMode.LowLatency, EpLayout.RankMajor,
        updateKernel: "ncclep_update", dispatchKernel: "ncclep_dispatch", combineKernel: "ncclep_combine",
        rows: new[] { "worldSize: world size", "maxTokensPerRank", "hidden" },
        QuantizedDispatchKernel = "ncclep_dispatch_fp8")]
    internal static partial class LowLatencyRankMajor
    {
    }

    [EpSpecialization(EpMode.HighThroughput, EpLayout.Flat,
        updateKernel: "ncclep_update", dispatchKernel: "ncclep_dispatch", combineKernel: "ncclep_combine",
        rows: new[] { ">=receiveRows: receive rows, EpConfig.ReceiveRows", "hidden" },
        QuantizedDispatchKernel = "ncclep_dispatch_fp8")]
    internal static partial class HighThroughputFlat
    {
    }

    [EpSpecialization(EpMode.HighThroughput, EpLayout.ExpertMajor,
        updateKernel: "ncclep_update", dispatchKernel: "ncclep_dispatch", combineKernel: "ncclep_combine",
        rows: new[] { ">=receiveRows: receive rows, EpConfig.ReceiveRows", "hidden" },
        QuantizedDispatchKernel = "ncclep_dispatch_fp8")]
    internal static partial class HighThroughputExpertMajor
    {
    }
}
