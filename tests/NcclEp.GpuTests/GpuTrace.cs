using System;

namespace NcclEp.GpuTests;

/// <summary>
/// With NCCLEP_GPU_TRACE=1, timestamped lines for each step of a rank (group created, launched, synchronised...),
/// so a GPU run that hangs shows where it stopped. Off by default: the suites' own output stays as it is.
/// </summary>
internal static class GpuTrace
{
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("NCCLEP_GPU_TRACE") == "1";

    public static void Line(string what)
    {
        if (Enabled) Console.WriteLine($"     [{DateTime.UtcNow:HH:mm:ss.fff}] {what}");
    }
}
