using System;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// The dynamic shared memory that a module's HT bulk copies take (ep_bulk.cuh, built with <c>-DNCCLEP_HT_BULK</c>): their
/// stages sit at the start of the dispatch's and the combine's dynamic shared memory, so those launches get this much
/// more. The kernels say how much in their <c>ncclep_bulk_shared_bytes</c> global, read once when the module loads
/// (control path); a module built without the bulk copies has no such global, and takes nothing.
/// </summary>
internal static unsafe class BulkSharedMemory
{
    internal const string Symbol = "ncclep_bulk_shared_bytes";

    /// <summary>The largest value the kernels accept (ep_bulk.cuh's static_assert on BULK_STAGES × BULK_STAGE_BYTES).</summary>
    internal const int MaxBytes = 192 * 1024;

    /// <summary>The stages' bytes of <paramref name="module"/> (loaded in the current context), or 0 without bulk copies.</summary>
    public static int Read(nint module)
    {
        CuResult status = CudaDriver.cuModuleGetGlobal_v2(out nint pointer, out nuint bytes, module, Symbol);
        if (status == CuResult.ErrorNotFound) return 0;
        Check.Cu(status, $"cuModuleGetGlobal_v2({Symbol})");
        if (bytes != sizeof(int)) throw new InvalidOperationException($"{Symbol} is {bytes} bytes, not an int: ep_bulk.cuh and {nameof(BulkSharedMemory)} disagree.");
        int value;
        Check.Cu(CudaDriver.cuMemcpyDtoH_v2(&value, pointer, sizeof(int)), $"cuMemcpyDtoH_v2({Symbol})");
        return Validate(value);
    }

    /// <summary>The value, if the kernels could have written it; else an exception saying so.</summary>
    internal static int Validate(int value) =>
        value is >= 0 and <= MaxBytes && value % 16 == 0
            ? value
            : throw new InvalidOperationException($"{Symbol} is {value}: the bulk stages take a multiple of 16 bytes up to {MaxBytes} (ep_bulk.cuh).");
}
