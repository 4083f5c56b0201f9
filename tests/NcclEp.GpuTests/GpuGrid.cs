using System.Collections.Generic;

namespace NcclEp.GpuTests;

/// <summary>
/// The validation grids (issue 4: LL; issue 5: HT). Each grid also runs expert-major cases with per-rank combine
/// partials (<see cref="EpCombineReduction.PerRank"/>, "partials" in a case's name).
/// </summary>
internal static class GpuGrid
{
    public static List<GpuCase> Build(string name, int[] worlds)
    {
        var cases = new List<GpuCase>();
        bool quick = name == "quick";
        if (name is "quick" or "ll" or "full")
        {
            int[] hiddens = quick ? [1024, 7168] : [1024, 2048, 4096, 7168, 8192];
            int[] topKs = quick ? [1, 9, 22] : [1, 2, 8, 9, 22];
            int[] tokens = quick ? [1, 7, 128] : [1, 7, 64, 128];
            foreach (int w in worlds)
            foreach (EpLayout layout in new[] { EpLayout.ExpertMajor, EpLayout.RankMajor })
            foreach (int h in hiddens)
            foreach (int k in topKs)
            foreach (int t in tokens)
            foreach (int e in new[] { 8 * w, 256, 512 })
            {
                if (k > e || (quick && e == 256)) continue;
                cases.Add(new GpuCase(EpMode.LowLatency, layout, w, h, k, t, e, EpDataType.BFloat16));
            }
            foreach (int w in worlds)
                cases.Add(new GpuCase(EpMode.LowLatency, EpLayout.ExpertMajor, w, 512, 4, 5, 8 * w, EpDataType.Float32));

            foreach (int w in worlds)
            foreach (int h in quick ? new[] { 7168 } : [1024, 7168])
            foreach (int k in topKs)
            foreach (int t in tokens)
            foreach (int e in quick ? new[] { 8 * w } : [8 * w, 512])
            {
                if (k > e || (quick && k == 22)) continue;
                cases.Add(new GpuCase(EpMode.LowLatency, EpLayout.ExpertMajor, w, h, k, t, e, EpDataType.BFloat16, Reduction: EpCombineReduction.PerRank));
            }
            foreach (int w in worlds)
                cases.Add(new GpuCase(EpMode.LowLatency, EpLayout.ExpertMajor, w, 512, 4, 5, 8 * w, EpDataType.Float32, Reduction: EpCombineReduction.PerRank));
        }
        if (name is "quick" or "ht" or "full")
        {
            int[] tokens = quick ? [1, 512] : [1, 512, 4096, 8192];
            int[] hiddens = quick ? [2048] : [2048, 4096, 7168];
            int[] topKs = quick ? [4] : [1, 4, 8];
            foreach (int w in worlds)
            foreach (int h in hiddens)
            foreach (int k in topKs)
            foreach (int t in tokens)
            {
                cases.Add(new GpuCase(EpMode.HighThroughput, EpLayout.Flat, w, h, k, t, 64, EpDataType.BFloat16));
                cases.Add(new GpuCase(EpMode.HighThroughput, EpLayout.ExpertMajor, w, h, k, t, 64, EpDataType.BFloat16, Alignment: 128));
                cases.Add(new GpuCase(EpMode.HighThroughput, EpLayout.ExpertMajor, w, h, k, t, 64, EpDataType.BFloat16, Alignment: 128,
                    Reduction: EpCombineReduction.PerRank));
            }
        }
        return cases;
    }
}
