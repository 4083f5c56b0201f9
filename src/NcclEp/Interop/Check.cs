using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace NcclEp.Interop;

/// <summary>
/// The one place that turns a native status into an exception. The check is inlined; the throw lives in a
/// separate cold method so that callers on the data path stay small and format nothing on success.
/// </summary>
internal static class Check
{
    /// <summary>Throws <see cref="CudaException"/> unless <paramref name="status"/> is CUDA_SUCCESS.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Cu(CuResult status, string call)
    {
        if (status != CuResult.Success)
        {
            ThrowCu(status, call);
        }
    }

    /// <summary>Throws <see cref="NcclException"/> unless <paramref name="status"/> is ncclSuccess.</summary>
    /// <param name="status">What the call returned.</param>
    /// <param name="call">The NCCL entry point.</param>
    /// <param name="comm">The communicator the call used (for ncclGetLastError), or 0.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Nccl(NcclResult status, string call, nint comm = 0)
    {
        if (status != NcclResult.Success)
        {
            ThrowNccl(status, call, comm);
        }
    }

    /// <summary>Throws <see cref="NvrtcCompileException"/> unless <paramref name="status"/> is NVRTC_SUCCESS.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Nvrtc(NvrtcResult status, string call, string programName, string log = "")
    {
        if (status != NvrtcResult.Success)
        {
            ThrowNvrtc(status, call, programName, log);
        }
    }

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowCu(CuResult status, string call) => throw new CudaException(call, status);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNccl(NcclResult status, string call, nint comm) =>
        throw new NcclException(call, status, Interop.Nccl.DescribeResult(status, comm));

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNvrtc(NvrtcResult status, string call, string programName, string log) =>
        throw new NvrtcCompileException(programName, call, status, Interop.Nvrtc.GetErrorString(status), log);
}
