using System;
using System.Threading;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// Where the kernels report a failure: pinned host memory the GPU writes directly (unified addressing),
/// so the host can look at it on every call without synchronising with the device.
/// Layout: i32 {code, peer or token (or the survivor that masked this rank), phase, sequence or slot, value}.
/// </summary>
internal sealed unsafe class CudaErrorRecord : IDisposable
{
    public const int Timeout = 1, BadExpert = 2, DuplicateExpert = 3, Masked = 4;
    private readonly CudaDevice _device;
    private int* _record;

    public CudaErrorRecord(CudaDevice device)
    {
        _device = device;
        using CudaContextScope scope = device.MakeCurrent();
        Check.Cu(CudaDriver.cuMemAllocHost_v2(out nint pointer, 64), "cuMemAllocHost_v2");
        _record = (int*)pointer;
        new Span<int>(_record, 16).Clear();
    }

    public nint DevicePointer => (nint)_record;

    public bool HasError => Volatile.Read(ref _record[0]) > 0;

    /// <summary>
    /// Raises the recorded failure and clears it so the rank can go on (e.g. after masking a peer), except
    /// <see cref="Masked"/>, which stays: a masked rank's every later call raises it again.
    /// </summary>
    public void Throw(int rank, TimeSpan timeout)
    {
        int code = Volatile.Read(ref _record[0]);
        int a = _record[1], phase = _record[2], b = _record[3], value = _record[4];
        if (code == Masked) ThrowHelper.Masked(rank, a);
        Volatile.Write(ref _record[0], 0);
        switch (code)
        {
            case Timeout:
                ThrowHelper.Timeout(rank, a, (EpPhase)phase, (uint)b, timeout);
                break;
            case BadExpert:
                throw new EpException($"Rank {rank}: Update found topkIds[{a}, {b}] = {value}, which is not an expert id (must be -1 or below NumExperts); that slot was treated as 'no expert'.");
            case DuplicateExpert:
                throw new EpException($"Rank {rank}: Update found expert {value} twice in token {a} (slot {b}); the later slot was treated as 'no expert'.");
            default:
                throw new EpException($"Rank {rank}: a kernel recorded unknown error code {code}.");
        }
    }

    /// <summary>
    /// Forgets a recorded time-out (control path, with this rank's work finished): used by SetActiveRanks, the
    /// recovery point, because such a record can only describe an operation of the round being abandoned. Other
    /// records (bad expert ids) stay and are raised by the next call.
    /// </summary>
    public void DiscardTimeout()
    {
        if (Volatile.Read(ref _record[0]) == Timeout) Volatile.Write(ref _record[0], 0);
    }

    public void Dispose()
    {
        if (_record == null) return;
        using CudaContextScope scope = CudaContextScope.TryEnter(_device.Context, out _);
        _ = CudaDriver.cuMemFreeHost((nint)_record);
        _record = null;
    }
}
