using System;

namespace NcclEp.Bench;

/// <summary>Process exit codes.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>--validate, or --graph-step's check of its last replay, found a mismatch.</summary>
    public const int ValidationFailed = 1;

    /// <summary>Bad options, unsupported configuration, or the requested backend cannot run.</summary>
    public const int Usage = 2;

    /// <summary>The run failed (a peer time-out, a backend error).</summary>
    public const int RunFailed = 3;
}
