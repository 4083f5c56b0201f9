using System;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>The Cuda backend of the bench, when a GPU is usable.</summary>
internal static partial class BenchBackends
{
    public static bool TryCreateCuda(BenchOptions options, out IBenchBackend? backend, out string reason)
    {
        backend = null;
        if (!EpGroup.IsCudaAvailable(out reason)) return false;
        backend = new CudaBenchBackend();
        return true;
    }
}
