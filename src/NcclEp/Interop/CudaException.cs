using System;

namespace NcclEp.Interop;

/// <summary>A CUDA driver call failed; the message names the call and the CUresult (name, number and text).</summary>
internal sealed class CudaException : EpException
{
    public CudaException(string call, CuResult status)
        : base($"{call} failed: {CudaDriver.DescribeResult(status)}.")
    {
        Call = call;
        Status = status;
    }

    public CudaException(string call, CuResult status, string detail)
        : base($"{call} failed: {CudaDriver.DescribeResult(status)}. {detail}")
    {
        Call = call;
        Status = status;
    }

    public CudaException() { Call = string.Empty; }

    public CudaException(string message) : base(message) { Call = string.Empty; }

    public CudaException(string message, Exception inner) : base(message, inner) { Call = string.Empty; }

    /// <summary>The driver entry point that failed, as exported (e.g. <c>cuMemAlloc_v2</c>).</summary>
    public string Call { get; }

    /// <summary>The status it returned.</summary>
    public CuResult Status { get; }
}
