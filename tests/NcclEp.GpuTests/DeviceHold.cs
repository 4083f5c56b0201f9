using System;
using System.Threading;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.GpuTests;

/// <summary>Holds a rank back before a call: a kernel on its stream that spins for a time, or a sleep of its thread (always on the Host backend).</summary>
internal static unsafe class DeviceHold
{
    /// <param name="g">The rank's group.</param>
    /// <param name="spin">16 zeroed bytes of the rank's memory: the flag the kernel waits for (never set) and its time-out word.</param>
    /// <param name="stream">The rank's stream.</param>
    /// <param name="ns">How long; nothing when 0.</param>
    /// <param name="onHost">Sleep the thread before the launch rather than spin on the stream.</param>
    public static void Run(EpGroup g, EpBuffer spin, nint stream, long ns, bool onHost)
    {
        if (ns <= 0) return;
        if (onHost || g.Backend != EpBackendKind.Cuda)
        {
            Thread.Sleep(TimeSpan.FromTicks(Math.Max(1, ns / 100)));
            return;
        }
        var backend = (CudaRankBackend)g.RankBackend;
        using CudaContextScope scope = backend.Device.MakeCurrent();
        nint flag = spin.Pointer, timedOut = spin.Pointer + 4;
        int never = 1;  // the flag stays 0: the kernel spins until its time-out
        void** args = stackalloc void*[] { &flag, &never, &ns, &timedOut };
        Check.Cu(CudaDriver.cuLaunchKernel(backend.Kernels.QueueProbeWait, 1, 1, 1, 1, 1, 1, 0, stream, args, null), "cuLaunchKernel (hold)");
    }
}
