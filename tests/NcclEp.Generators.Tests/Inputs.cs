namespace NcclEp.Generators.Tests;

/// <summary>One input per layout: the layout's token view and the stubs of one (mode, layout) that uses it.</summary>
internal static class Inputs
{
    public const string Flat = """
        using System;

        namespace NcclEp;

        [EpTokenView(EpLayout.Flat, "Rows:row", "Hidden:element", Summary = "Flat rows.")]
        public readonly ref partial struct FlatTokens<T>
            where T : unmanaged
        {
        }

        internal static partial class EpLaunchStubs
        {
            [EpSpecialization(EpMode.HighThroughput, EpLayout.Flat, "ncclep_update", "ncclep_dispatch", "ncclep_combine",
                ">=receiveRows: receive rows, EpConfig.ReceiveRows", "hidden", QuantizedDispatchKernel = "ncclep_dispatch_fp8")]
            internal static partial class HighThroughputFlat
            {
            }
        }
        """;

    public const string ExpertMajor = """
        using System;

        namespace NcclEp;

        [EpTokenView(EpLayout.ExpertMajor, "LocalExperts:expert", "Capacity:slot", "Hidden:element", Summary = "Expert-major rows.")]
        public readonly ref partial struct ExpertMajorTokens<T>
            where T : unmanaged
        {
        }

        internal static partial class EpLaunchStubs
        {
            [EpSpecialization(EpMode.LowLatency, EpLayout.ExpertMajor, "ncclep_update", "ncclep_dispatch", "ncclep_combine",
                "localExperts: local experts", "worldSize*maxTokensPerRank: worldSize × maxTokensPerRank", "hidden",
                QuantizedDispatchKernel = "ncclep_dispatch_fp8")]
            internal static partial class LowLatencyExpertMajor
            {
            }
        }
        """;

    public const string RankMajor = """
        using System;

        namespace NcclEp;

        [EpTokenView(EpLayout.RankMajor, "WorldSize:source", "MaxTokensPerRank:token", "Hidden:element", Summary = "Rank-major rows.")]
        public readonly ref partial struct RankMajorTokens<T>
            where T : unmanaged
        {
        }

        internal static partial class EpLaunchStubs
        {
            [EpSpecialization(EpMode.LowLatency, EpLayout.RankMajor, "ncclep_update", "ncclep_dispatch", "ncclep_combine",
                "worldSize: world size", "maxTokensPerRank", "hidden", QuantizedDispatchKernel = "ncclep_dispatch_fp8")]
            internal static partial class LowLatencyRankMajor
            {
            }
        }
        """;
}
