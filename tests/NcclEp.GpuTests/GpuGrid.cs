using System.Collections.Generic;

namespace NcclEp.GpuTests;

/// <summary>
/// The validation grids (issue 4: LL; issue 5: HT). Each grid also runs expert-major cases with per-rank combine
/// partials (<see cref="EpCombineReduction.PerRank"/>, "partials" in a case's name) and cases whose Cuda dispatch routes
/// itself ("routed": one launch up to 128 tokens, the update's launches first above that), against the Host's Update,
/// then Dispatch.
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

            // The dispatch that routes itself (issue 19: one launch per phase), at every token count of the grid.
            foreach (int w in worlds)
            foreach (EpLayout layout in new[] { EpLayout.ExpertMajor, EpLayout.RankMajor })
            foreach (int h in quick ? new[] { 7168 } : [1024, 7168])
            foreach (int k in quick ? new[] { 1, 9 } : topKs)
            foreach (int t in tokens)
            foreach (int e in quick ? new[] { 8 * w } : [8 * w, 256])
            {
                if (k > e) continue;
                cases.Add(new GpuCase(EpMode.LowLatency, layout, w, h, k, t, e, EpDataType.BFloat16, Routed: true));
            }
            foreach (int w in worlds)
            {
                cases.Add(new GpuCase(EpMode.LowLatency, EpLayout.ExpertMajor, w, 512, 4, 5, 8 * w, EpDataType.Float32, Routed: true));
                cases.Add(new GpuCase(EpMode.LowLatency, EpLayout.ExpertMajor, w, 7168, 8, 128, 256, EpDataType.BFloat16, Reduction: EpCombineReduction.PerRank, Routed: true));
            }
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
            // Routed: one launch at 1 token (one routing tile), the update's launches first at 512 and more.
            foreach (int w in worlds)
            foreach (int t in tokens)
            {
                cases.Add(new GpuCase(EpMode.HighThroughput, EpLayout.Flat, w, 2048, 4, t, 64, EpDataType.BFloat16, Routed: true));
                cases.Add(new GpuCase(EpMode.HighThroughput, EpLayout.ExpertMajor, w, 2048, 4, t, 64, EpDataType.BFloat16, Alignment: 128, Routed: true));
            }
        }
        return cases;
    }
}
