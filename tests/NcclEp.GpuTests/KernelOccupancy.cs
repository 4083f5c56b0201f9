using System;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.GpuTests;

/// <summary>
/// Per kernel of a rank: registers per thread and how many of its blocks fit on one SM, with the rank's grid and the
/// kernels' local memory. Co-located ranks' dispatch and combine blocks must all be resident at once (they wait on each
/// other); a failed case prints this beside its timeline.
/// </summary>
internal static class KernelOccupancy
{
    /// <summary>
    /// The description for rank <paramref name="group"/>. Blocks per SM are counted at the dynamic shared memory the
    /// library reserved for each kernel (the most any group sharing the module asked for), so they are a lower bound.
    /// </summary>
    public static string Describe(EpGroup group)
    {
        var backend = (CudaRankBackend)group.RankBackend;
        CudaKernelModule kernels = backend.Kernels;
        CudaDevice device = backend.Device;
        int grid = CudaRankBackend.GridSize(group.Config, device.Multiprocessors, backend.Fabric.RanksPerDevice);
        using CudaContextScope scope = device.MakeCurrent();
        return $"grid {grid} of {device.Multiprocessors} SMs, {kernels.LocalBytesPerThread} B local memory per thread; " + string.Join(", ",
            One("update", kernels.Update), One("offsets", kernels.UpdateOffsets), One("dispatch", kernels.Dispatch), One("combine", kernels.Combine));
    }

    private static string One(string name, nint function)
    {
        Check.Cu(CudaDriver.cuFuncGetAttribute(out int registers, CuFunctionAttribute.NumRegs, function), "cuFuncGetAttribute");
        Check.Cu(CudaDriver.cuFuncGetAttribute(out int shared, CuFunctionAttribute.MaxDynamicSharedSizeBytes, function), "cuFuncGetAttribute");
        Check.Cu(CudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor(out int blocks, function, CudaKernelModule.ThreadsPerBlock, (nuint)Math.Max(0, shared)),
            "cuOccupancyMaxActiveBlocksPerMultiprocessor");
        return $"{name} {registers} regs, {blocks} blocks/SM";
    }
}
