using System;
using System.Threading;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace NcclEp.Host;

/// <summary>The Host backend's bounded wait on a flag a peer writes: spin, then yield, never block forever.</summary>
internal static unsafe class PeerWait
{
    /// <summary>Waits until the high 32 bits of <paramref name="flag"/> equal <paramref name="sequence"/>; returns the word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryWaitSequence(ulong* flag, uint sequence, long deadline, out ulong word)
    {
        word = Volatile.Read(ref *flag);
        if ((uint)(word >> 32) == sequence) return true;
        return SlowWait(flag, sequence, deadline, out word);
    }

    private static bool SlowWait(ulong* flag, uint sequence, long deadline, out ulong word)
    {
        SpinWait spinner = default;
        while (true)
        {
            word = Volatile.Read(ref *flag);
            if ((uint)(word >> 32) == sequence) return true;
            if (Stopwatch.GetTimestamp() > deadline) return false;
            // -1: never Sleep(1); ranks are threads of one process and must hand over the core quickly.
            spinner.SpinOnce(-1);
        }
    }
}
