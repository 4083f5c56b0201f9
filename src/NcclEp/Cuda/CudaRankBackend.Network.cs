using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>The network leg: NCCL send/recv of whole staging slices between the kernel's send and receive halves.</summary>
internal sealed partial class CudaRankBackend
{
    private const int StepSend = 1, StepReceive = 2, StepsBoth = StepSend | StepReceive;

    /// <summary>
    /// One NCCL group on <paramref name="stream"/>: to every live network peer its out slice, from it its in slice
    /// (slice i belongs to the i-th network peer in rank order), for the network peers in <paramref name="exchange"/>
    /// (all of them, or the rail peers for hierarchical dispatch). Fixed sizes, counts in-band: nothing is read back,
    /// and the calls are captured like kernels in a CUDA Graph. Masked peers are skipped on both sides, as the
    /// kernels skip them. NCCL's own wait is unbounded, so the group is watched from another thread: events before
    /// and after the group, and an exchange pending past the time-out aborts the communicator (<see cref="NetworkExchangeWatch"/>).
    /// </summary>
    private void ExchangeSlices(nint outSlices, nint inSlices, long slice, ulong exchange, EpPhase phase, nint stream)
    {
        using CudaContextScope scope = _device.MakeCurrent();  // the watch's events live in this rank's context
        ulong network = _template.NetworkMask;
        _watch!.Begin(stream, phase);
        NcclResult status = NcclResult.Success, ended;
        try
        {
            status = Nccl.ncclGroupStart();
            int index = 0;
            for (int peer = 0; peer < _active.Length && status == NcclResult.Success; peer++)
            {
                if ((network >> peer & 1) == 0) continue;
                nint offset = (nint)(index++ * slice);
                if (!_active[peer] || (exchange >> peer & 1) == 0) continue;
                status = Nccl.ncclSend(outSlices + offset, (nuint)slice, NcclDataType.Uint8, peer, _comm, stream);
                if (status == NcclResult.Success) status = Nccl.ncclRecv(inSlices + offset, (nuint)slice, NcclDataType.Uint8, peer, _comm, stream);
            }
            ended = Nccl.ncclGroupEnd();
        }
        finally
        {
            _watch.HostCallReturned();
        }
        _watch.ThrowIfAborted();  // the watchdog ended a call blocked in NCCL (first connection to a silent peer)
        Check.Nccl(status, "ncclGroupStart/ncclSend/ncclRecv (network peers)", _comm);
        Check.Nccl(ended, "ncclGroupEnd (network peers)", _comm);
        _watch.End(stream);
    }
}
