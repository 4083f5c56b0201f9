using System;

namespace NcclEp.Cuda;

/// <summary>
/// Low-latency dispatch and combine grids sized to the call's work (issue 19: a 1-token step launched all 132 blocks of
/// 512 threads to move two messages). Low-latency kernels work in warp jobs that go one per block before any block takes
/// a second (ep_common.cuh, <c>first_team_job</c>: a team of warps per job), so a grid of twice the larger half's jobs gives every job its own SM
/// and both halves (sending, receiving or reducing: half the blocks each, <c>sending_blocks</c>) as many blocks as jobs.
/// The configured grid (<see cref="EpConfig.NumSms"/>, or the rank's share of the GPU) is the most it takes, so at 33 or
/// more tokens per rank on 2 ranks it is the whole grid, as before. High-throughput launches always take the whole grid.
/// </summary>
/// <remarks>
/// What the host knows is this rank's token count; the other ranks' are read on the GPU. The jobs are counted as if each
/// rank had as many (decode steps do); a rank that receives more leaves its warps a job or two more each, never a wrong
/// result. A rank with no tokens of its own (an uneven decode batch) still receives and sends back its peers' rows,
/// which its own count says nothing about, so it launches the whole grid. <c>NCCLEP_LL_FULL_GRID=1</c> launches the
/// whole grid anyway, to time the two side by side (docs/benchmarks.md).
/// </remarks>
internal static class LaunchSizing
{
    /// <summary>The environment switch that turns sizing off (read once per group).</summary>
    public const string FullGridVariable = "NCCLEP_LL_FULL_GRID";

    /// <summary>Whether this process sizes low-latency grids (not when <see cref="FullGridVariable"/> is 1).</summary>
    public static bool Enabled() => Environment.GetEnvironmentVariable(FullGridVariable) != "1";

    /// <summary>
    /// Dispatch route (Dispatch forward, Combine backward): a sending job per message (a token goes to at most
    /// min(W, K) ranks), a receiving job per message from each of the W sources.
    /// </summary>
    public static uint DispatchGrid(int tokens, int topK, int world, uint full)
    {
        if (tokens == 0) return full;  // its work is all the peers': see the remarks
        long sending = (long)tokens * Math.Min(world, topK);
        long receiving = (long)tokens * world;
        return Fit(Math.Max(sending, receiving), full);
    }

    /// <summary>
    /// Combine route (Combine forward, Dispatch backward): a sending job per message received (at most W per home
    /// token), a reducing job per (home token, 2 KiB segment of its row).
    /// </summary>
    public static uint CombineGrid(int tokens, int world, int rowBytes, uint full)
    {
        if (tokens == 0) return full;
        long sending = (long)tokens * world;
        long reducing = (long)tokens * Segments(rowBytes);
        return Fit(Math.Max(sending, reducing), full);
    }

    /// <summary>Segments of a row, one reducing warp each (ep_combine.cu: SEGMENT_VECS = 32 lanes × 4 vectors of 16 bytes = 2 KiB).</summary>
    public static int Segments(int rowBytes) => (rowBytes + SegmentBytes - 1) / SegmentBytes;

    /// <summary>Bytes of one reducing warp's segment: 32 lanes × REDUCE_UNROLL (4) × 16 bytes.</summary>
    public const int SegmentBytes = 32 * 4 * 16;

    // Two blocks per job (half send, half receive), at least 2 (one of each), at most the configured grid.
    private static uint Fit(long jobs, uint full) => (uint)Math.Clamp(2 * Math.Max(jobs, 1), Math.Min(2, full), full);
}
