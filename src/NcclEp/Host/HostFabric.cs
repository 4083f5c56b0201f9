using System;
using System.Threading;
using System.Diagnostics;
using System.Runtime.InteropServices;
using NcclEp.Backend;

namespace NcclEp.Host;

/// <summary>
/// The Host backend's "NVLink": one symmetric window per rank in native memory, laid out exactly as on
/// the GPU (<see cref="WindowLayout"/>), and every rank's table of peer window addresses. Freed when the
/// last rank disposes, so no rank can write into freed memory.
/// </summary>
internal sealed unsafe class HostFabric
{
    private readonly nint[] _windows;
    private int _liveRanks;

    public HostFabric(in EpConfig config, int worldSize, TimeSpan timeout)
    {
        Config = config;
        WorldSize = worldSize;
        Layout = new WindowLayout(config, worldSize);
        Timeout = timeout;
        TimeoutTicks = (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        _windows = new nint[worldSize];
        _liveRanks = worldSize;
        for (int r = 0; r < worldSize; r++)
        {
            byte* window = (byte*)NativeMemory.AlignedAlloc((nuint)Layout.TotalBytes, 128);
            NativeMemory.Clear(window, (nuint)Layout.TotalBytes);
            int* mask = (int*)(window + WindowControl.ActiveMask);
            for (int p = 0; p < worldSize; p++) mask[p] = 1;
            _windows[r] = (nint)window;
        }
        GC.AddMemoryPressure(Layout.TotalBytes * worldSize);
    }

    public EpConfig Config { get; }
    public int WorldSize { get; }
    public WindowLayout Layout { get; }
    public TimeSpan Timeout { get; }
    public long TimeoutTicks { get; }

    public nint Window(int rank) => _windows[rank];

    /// <summary>Tests only: called by every rank of this fabric at each <see cref="HostPhase"/> of its calls (null: nothing runs).</summary>
    public HostPhaseHook? PhaseHook { get; set; }

    /// <summary>Called once per rank at disposal; the last one frees every window.</summary>
    public void ReleaseRank()
    {
        if (Interlocked.Decrement(ref _liveRanks) != 0) return;
        foreach (nint w in _windows) NativeMemory.AlignedFree((void*)w);
        GC.RemoveMemoryPressure(Layout.TotalBytes * WorldSize);
    }
}
