using System;
using System.Collections.Generic;
using System.Threading;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// Streams for ranks co-located on one GPU (<see cref="EpGroup.CreateStream"/>), each on a hardware work queue that no
/// other rank's stream and not the device's transfer stream uses. Co-located ranks' kernels wait on each other; when two
/// ranks' streams share a queue, a rank's next kernel (which must wait for its current one) holds up the queue, and the
/// other rank's kernel behind it starts only once the first gives up: a time-out. Unchecked streams made by the rank
/// threads did this in 7–22 % of the W=4 co-located HT grid's cases, with 8 or 32 queues, mostly to the first kernel on a
/// new stream (bench/results/colocated-h200-2026-12-04-runs30-35.md). So each new stream gets one kernel at once, one
/// stream at a time, and is checked against the others with the kernels of ep_queue_probe.cu (replaced while it shares a
/// queue). In the runs the launch one at a time was enough (0 failures in 563 cases; no stream was ever replaced); the
/// check is what makes it a guarantee, since the driver does not document how it assigns queues: the same test found
/// every pair of streams sharing a queue at CUDA_DEVICE_MAX_CONNECTIONS=1 (bench/microbench/queue_sharing.cu).
/// </summary>
internal sealed unsafe class ColocatedStreams : IDisposable
{
    private const int MaxCandidates = 64;
    private const long ProbeTimeoutNs = 20_000_000;  // a shared queue holds the setter for the whole of it

    private readonly CudaDevice _device;
    private readonly Lock _lock = new();
    private readonly List<(int Rank, nint Stream)> _streams = new();
    private CudaBuffer? _words;  // [0] the flag, [1] the waiter's time-out record, [2] scratch for the kernel behind it
    private int _value;

    public ColocatedStreams(CudaDevice device) => _device = device;

    /// <summary>A non-blocking stream for <paramref name="rank"/> on a queue no other rank's stream uses.</summary>
    public nint Create(int rank, CudaKernelModule kernels)
    {
        lock (_lock)
        {
            using CudaContextScope scope = _device.MakeCurrent();
            if (_words is null)
            {
                _words = CudaBuffer.Allocate(_device, 12);
                _words.Fill(0);
            }
            var rejected = new List<nint>();
            try
            {
                for (int attempt = 0; attempt < MaxCandidates; attempt++)
                {
                    Check.Cu(CudaDriver.cuStreamCreate(out nint candidate, CuStreamFlags.NonBlocking), "cuStreamCreate");
                    if (!SharesAQueue(rank, candidate, kernels))
                    {
                        _streams.Add((rank, candidate));
                        return candidate;
                    }
                    // Kept until a good one is found, so the driver does not hand the same queue out again.
                    rejected.Add(candidate);
                    EpMetrics.ColocatedStreamsReplaced.Add(1);
                }
            }
            finally
            {
                foreach (nint stream in rejected) _ = CudaDriver.cuStreamDestroy_v2(stream);
            }
            throw new EpException($"Rank {rank} got no stream on a hardware work queue of its own in {MaxCandidates} tries on GPU {_device.Ordinal}: " +
                $"{_streams.Count} other ranks' streams are in use. Co-located ranks wait on each other, so their streams must not share a queue; " +
                $"raise {ColocatedFabric.ConnectionsVariable} (up to 32) or co-locate fewer ranks.");
        }
    }

    /// <summary>Forgets a stream of <see cref="Create"/> and destroys it (at the rank's disposal: never throws).</summary>
    public void Destroy(nint stream)
    {
        lock (_lock)
        {
            _streams.RemoveAll(s => s.Stream == stream);
            using CudaContextScope scope = CudaContextScope.TryEnter(_device.Context, out CuResult entered);
            if (entered == CuResult.Success) _ = NativeRelease.Accept(CudaDriver.cuStreamDestroy_v2(stream), "cuStreamDestroy_v2");
        }
    }

    /// <summary>Whether <paramref name="candidate"/> shares a queue with the transfer stream or another rank's stream.</summary>
    private bool SharesAQueue(int rank, nint candidate, CudaKernelModule kernels)
    {
        if (Shares(_device.TransferStream, candidate, kernels)) return true;
        foreach ((int other, nint stream) in _streams)
        {
            // A probe launched into a stream being captured would join the peer's graph: that stream is not checked.
            // (A capture that begins during this probe is not seen: create streams before capturing.)
            if (other == rank || Capturing(stream)) continue;
            if (Shares(stream, candidate, kernels)) return true;
        }
        return false;
    }

    private static bool Capturing(nint stream) =>
        CudaDriver.cuStreamIsCapturing(stream, out CuStreamCaptureStatus status) != CuResult.Success || status != CuStreamCaptureStatus.None;

    /// <summary>The one-thread kernel that stores <paramref name="value"/> at <paramref name="word"/>, on <paramref name="stream"/>.</summary>
    private static void LaunchSet(CudaKernelModule kernels, nint stream, nint word, int value)
    {
        void** args = stackalloc void*[] { &word, &value };
        Check.Cu(CudaDriver.cuLaunchKernel(kernels.QueueProbeSet, 1, 1, 1, 1, 1, 1, 0, stream, args, null), "cuLaunchKernel (queue probe set)");
    }

    /// <summary>Waiter and a kernel behind it on <paramref name="existing"/>, then the setter on <paramref name="candidate"/>.</summary>
    private bool Shares(nint existing, nint candidate, CudaKernelModule kernels)
    {
        nint flag = _words!.Pointer, timedOut = _words.Pointer + 4;
        int value = ++_value, waiterTimedOut = 0;
        long timeout = ProbeTimeoutNs;
        Check.Cu(CudaDriver.cuMemsetD8Async(timedOut, 0, 4, existing), "cuMemsetD8Async (queue probe)");
        void** wait = stackalloc void*[] { &flag, &value, &timeout, &timedOut };
        Check.Cu(CudaDriver.cuLaunchKernel(kernels.QueueProbeWait, 1, 1, 1, 1, 1, 1, 0, existing, wait, null), "cuLaunchKernel (queue probe wait)");
        LaunchSet(kernels, existing, _words.Pointer + 8, 0);  // any kernel will do behind the waiter; this one writes a word nobody reads
        LaunchSet(kernels, candidate, flag, value);
        Check.Cu(CudaDriver.cuStreamSynchronize(candidate), "cuStreamSynchronize (queue probe)");
        Check.Cu(CudaDriver.cuStreamSynchronize(existing), "cuStreamSynchronize (queue probe)");
        Check.Cu(CudaDriver.cuMemcpyDtoHAsync_v2(&waiterTimedOut, timedOut, 4, existing), "cuMemcpyDtoHAsync_v2 (queue probe)");
        Check.Cu(CudaDriver.cuStreamSynchronize(existing), "cuStreamSynchronize (queue probe)");
        return waiterTimedOut != 0;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _words?.Dispose();
            _words = null;
        }
    }
}
