using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace NcclEp.Backend;

/// <summary>
/// Marks the calling thread as inside a captured step (NcclEp.Graphs enters and exits it around the caller's step),
/// so that the synchronous host transfers of <see cref="EpBuffer"/> fail at once instead of running a single time,
/// at capture, where the caller expects them at every replay.
/// </summary>
internal static class EpCaptureGuard
{
    [ThreadStatic]
    private static int t_depth;

    /// <summary>Whether the calling thread is capturing a step.</summary>
    public static bool IsCapturing => t_depth > 0;

    /// <summary>The calling thread starts capturing a step (captures of different groups may nest on one thread).</summary>
    public static void Enter() => t_depth++;

    /// <summary>The calling thread finished capturing a step.</summary>
    public static void Exit() => t_depth--;

    /// <summary>Throws <see cref="InvalidOperationException"/> naming <paramref name="call"/> while the thread is capturing.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ThrowIfCapturing(string call)
    {
        if (t_depth > 0) ThrowCapturing(call);
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowCapturing(string call) =>
        throw new InvalidOperationException(
            $"{call} inside a captured step (EpGraph.Capture): it copies between the host and the device synchronously, " +
            "which a graph cannot hold (it would run once, now, instead of at every replay). Write inputs before Replay " +
            "and read outputs after it.");
}
