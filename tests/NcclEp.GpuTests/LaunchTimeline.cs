using System;
using System.Diagnostics;
using System.Text;
using System.Threading;

namespace NcclEp.GpuTests;

/// <summary>
/// When each rank of the running case got past the barrier, returned from each launch call and from the synchronise,
/// kept in memory and printed only on a failed case. Unlike NCCLEP_GPU_TRACE it writes nothing while the ranks run, so
/// it does not change their timing (with the trace on, the W=4 co-located time-outs did not happen).
/// </summary>
internal static class LaunchTimeline
{
    private static readonly string[] Steps = ["barrier", "update", "dispatch", "combine", "combine bwd", "dispatch bwd", "synchronised"];
    private static long[] s_marks = [];
    private static int s_world;

    /// <summary>The case's kernels: registers and blocks per SM (KernelOccupancy), printed with the timeline.</summary>
    public static string Kernels { get; set; } = "";

    public static void Start(int world)
    {
        s_world = world;
        s_marks = new long[world * Steps.Length];
        Kernels = "";
    }

    /// <summary>Step 0 is the barrier, 1–5 the launch calls in order, 6 the return from the synchronise (or its throw).</summary>
    public static void Mark(int rank, int step)
    {
        long[] marks = s_marks;
        if (rank < s_world) Volatile.Write(ref marks[rank * Steps.Length + step], Stopwatch.GetTimestamp());
    }

    public static string Describe()
    {
        long first = long.MaxValue;
        foreach (long t in s_marks) if (t != 0) first = Math.Min(first, t);
        if (first == long.MaxValue) return "no rank got past the barrier";
        var text = new StringBuilder(Kernels.Length > 0 ? $"kernels: {Kernels}; " : "");
        text.Append($"ms after the first rank passed the barrier ({string.Join(", ", Steps)}):");
        for (int r = 0; r < s_world; r++)
        {
            text.Append($" rank {r}:");
            for (int s = 0; s < Steps.Length; s++)
            {
                long t = s_marks[r * Steps.Length + s];
                text.Append(t == 0 ? " -" : $" {Stopwatch.GetElapsedTime(first, t).TotalMilliseconds:0.00}");
            }
            text.Append(';');
        }
        if (BlockTimeline.Last.Length > 0) text.Append(' ').Append(BlockTimeline.Last);
        return text.ToString();
    }
}
