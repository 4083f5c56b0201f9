using System;

namespace NcclEp.Cuda;

/// <summary>
/// Programmatic dependent launch (issue 19, item 2): with <c>NCCLEP_PDL=1</c> the data-path kernels are launched with
/// CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION (cuLaunchKernelEx), so the driver may start launching a kernel
/// before the previous kernel of the stream has finished and flushed its memory. Every kernel first executes
/// <c>griddepcontrol.wait</c> (ep_common.cuh, <c>wait_for_previous_kernel</c>), which holds it until then, so what the
/// protocol needs ("kernel n started" implies "kernel n − 1 ended and its memory operations are performed",
/// docs/kernels.md) still holds; the saving is the launch latency that overlaps the previous kernel's tail. The kernels
/// never trigger their dependents early (<c>griddepcontrol.launch_dependents</c>): a dependent grid then becomes resident
/// only as the previous one exits, so no more grids share a GPU at once than the residency check counts. Off by default
/// until a GPU run shows what it saves (scripts/gpu-ll-targets.sh times both).
/// </summary>
internal static class DependentLaunch
{
    /// <summary>The environment switch (read once per group).</summary>
    public const string Variable = "NCCLEP_PDL";

    /// <summary>Whether this process launches the data-path kernels with programmatic stream serialization.</summary>
    public static bool Enabled() => Environment.GetEnvironmentVariable(Variable) == "1";
}
