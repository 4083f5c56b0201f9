using System;

namespace NcclEp.Interop;

/// <summary>An NCCL call failed; the message names the call, the ncclResult_t and NCCL's last error text.</summary>
internal sealed class NcclException : EpException
{
    public NcclException(string call, NcclResult status, string description)
        : base($"{call} failed: {description}")
    {
        Call = call;
        Status = status;
    }

    public NcclException() { Call = string.Empty; }

    public NcclException(string message) : base(message) { Call = string.Empty; }

    public NcclException(string message, Exception inner) : base(message, inner) { Call = string.Empty; }

    /// <summary>The NCCL entry point that failed.</summary>
    public string Call { get; }

    /// <summary>The status it returned.</summary>
    public NcclResult Status { get; }
}
