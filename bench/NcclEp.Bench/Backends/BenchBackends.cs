using System;
using System.Runtime.InteropServices;

namespace NcclEp.Bench;

/// <summary>Picks the backend for <c>--backend host|cuda|auto</c> and says why.</summary>
internal static partial class BenchBackends
{
    /// <summary>The CUDA driver library every GPU path needs first.</summary>
    public const string DriverLibrary = "libcuda.so.1";

    /// <summary>
    /// Selects the backend. False (exit 2) only for <c>--backend cuda</c> when no Cuda backend can run;
    /// <paramref name="error"/> then says why.
    /// </summary>
    public static bool TrySelect(BenchOptions options, out IBenchBackend? backend, out string error)
    {
        error = "";
        switch (options.Backend)
        {
            case BackendChoice.Host:
                backend = new HostBenchBackend("requested by --backend host");
                return true;
            case BackendChoice.Cuda:
                if (!TryFindDriver(out string noDriver))
                {
                    backend = null;
                    error = $"--backend cuda: {noDriver}. Use --backend host (or auto) to run on the Host backend.";
                    return false;
                }
                if (TryCreateCuda(options, out backend, out string reason)) return true;
                error = $"--backend cuda: {reason}. Use --backend host (or auto) to run on the Host backend.";
                return false;
            default:
                if (!TryFindDriver(out string why))
                {
                    backend = new HostBenchBackend(why);
                    return true;
                }
                if (TryCreateCuda(options, out backend, out string cudaReason)) return true;
                backend = new HostBenchBackend($"{DriverLibrary} found, but the Cuda backend cannot run: {cudaReason}");
                return true;
        }
    }

    /// <summary>Whether the CUDA driver library loads; else a reason such as "no GPU: libcuda.so.1 not found".</summary>
    public static bool TryFindDriver(out string reason)
    {
        if (NativeLibrary.TryLoad(DriverLibrary, out nint handle))
        {
            NativeLibrary.Free(handle);
            reason = "";
            return true;
        }
        reason = $"no GPU: {DriverLibrary} not found";
        return false;
    }
}
