using System.Linq;

namespace NcclEp.GpuTests;

/// <summary>What the protocol and overlap suites share: their four layouts and where their ranks go.</summary>
internal static class SuiteLayouts
{
    /// <summary>LL expert-major and rank-major, HT flat and expert-major (alignment 4) for <paramref name="world"/> ranks.</summary>
    public static EpConfig[] Four(int world) =>
    [
        new(EpMode.LowLatency, 8 * world, 2048, 4, 64, EpLayout.ExpertMajor),
        new(EpMode.LowLatency, 8 * world, 2048, 4, 64, EpLayout.RankMajor),
        new(EpMode.HighThroughput, 8 * world, 2048, 4, 256, EpLayout.Flat),
        new(EpMode.HighThroughput, 8 * world, 2048, 4, 256, EpLayout.ExpertMajor, ExpertAlignment: 4),
    ];

    /// <summary>One GPU per rank when there are enough, else every rank on GPU 0 (co-located).</summary>
    public static int[] Devices(int world) => Program.DeviceCount() >= world ? Enumerable.Range(0, world).ToArray() : new int[world];
}
