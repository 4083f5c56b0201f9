using System;
using System.Threading;

namespace NcclEp.Interop;

/// <summary>
/// Decides whether a failed native free/destroy in a SafeHandle's ReleaseHandle is acceptable: only while the
/// process exits (or the driver has already torn itself down). Other failures are counted and kept for
/// diagnostics, since a finalizer may not throw.
/// </summary>
internal static class NativeRelease
{
    private static int s_hooked;
    private static volatile bool s_exiting;
    private static int s_failureCount;
    private static string? s_lastFailure;

    /// <summary>Number of native releases that failed outside process exit.</summary>
    public static int FailureCount => Volatile.Read(ref s_failureCount);

    /// <summary>The call and status of the last such failure, or null.</summary>
    public static string? LastFailure => Volatile.Read(ref s_lastFailure);

    /// <summary>Subscribes to process exit once; called when a native library is first loaded.</summary>
    public static void TrackProcessExit()
    {
        if (Interlocked.Exchange(ref s_hooked, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => s_exiting = true;
        }
    }

    /// <summary>Accepts a CUDA release status; CUDA_ERROR_DEINITIALIZED means the driver is already shutting down.</summary>
    public static bool Accept(CuResult status, string call)
    {
        if (status is CuResult.Success or CuResult.ErrorDeinitialized || s_exiting)
        {
            return true;
        }

        Record(call, (int)status);
        return false;
    }

    /// <summary>Accepts an NCCL release status.</summary>
    public static bool Accept(NcclResult status, string call)
    {
        if (status == NcclResult.Success || s_exiting)
        {
            return true;
        }

        Record(call, (int)status);
        return false;
    }

    private static void Record(string call, int status)
    {
        Interlocked.Increment(ref s_failureCount);
        Volatile.Write(ref s_lastFailure, $"{call} returned {status} while releasing a handle");
    }
}
