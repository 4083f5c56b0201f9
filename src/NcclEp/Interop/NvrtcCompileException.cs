using System;

namespace NcclEp.Interop;

/// <summary>NVRTC could not compile (or could not hand back) a program; the message carries the full compiler log.</summary>
internal sealed class NvrtcCompileException : EpException
{
    public NvrtcCompileException(string programName, string call, NvrtcResult status, string statusText, string log)
        : base(BuildMessage(programName, call, status, statusText, log))
    {
        ProgramName = programName;
        Status = status;
        Log = log;
    }

    public NvrtcCompileException() { ProgramName = string.Empty; Log = string.Empty; }

    public NvrtcCompileException(string message) : base(message) { ProgramName = string.Empty; Log = string.Empty; }

    public NvrtcCompileException(string message, Exception inner) : base(message, inner) { ProgramName = string.Empty; Log = string.Empty; }

    /// <summary>The name the program was compiled under (appears in the log's file names).</summary>
    public string ProgramName { get; }

    /// <summary>The NVRTC status.</summary>
    public NvrtcResult Status { get; }

    /// <summary>The compiler's log, possibly empty.</summary>
    public string Log { get; }

    private static string BuildMessage(string programName, string call, NvrtcResult status, string statusText, string log)
    {
        string body = log.Length == 0 ? "(the compiler left no log)" : log;
        return $"NVRTC {call} failed for '{programName}': {status} ({(int)status}): {statusText}.{Environment.NewLine}{body}";
    }
}
