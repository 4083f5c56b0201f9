using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace NcclEp.Interop;

/// <summary>
/// Bindings of NCCL under their C names (<c>[LibraryImport]</c> of <see cref="LibraryName"/>, which
/// <see cref="NativeLibraryResolver"/> points at <c>libnccl.so.2</c> or the file named by <c>NCCLEP_NCCL_PATH</c>).
/// Each returns the raw ncclResult_t; pass it to <see cref="Check.Nccl"/>. Communicators and windows are
/// <see cref="nint"/> (ncclComm_t, ncclWindow_t).
/// </summary>
/// <remarks>
/// Call <see cref="TryLoad"/> before the bindings: it loads the library, turns a missing one into a reason instead of an
/// exception from the first call, and refuses a release older than <see cref="MinimumVersion"/> (the window, memory and
/// team entry points NcclEp calls were added up to 2.28).
/// </remarks>
internal static unsafe partial class Nccl
{
    /// <summary>The name the bindings import; the resolver maps it to the loaded library.</summary>
    internal const string LibraryName = "libnccl.so.2";

    /// <summary>The environment variable that names the NCCL library file to load instead of the default.</summary>
    internal const string PathVariable = "NCCLEP_NCCL_PATH";

    /// <summary>The oldest NCCL the Cuda backend runs on (ncclTeamLsa and the Device API's windows: 2.28.0).</summary>
    internal const int MinimumVersion = 22800;

    private const string MissingHint = "NCCL 2.28 or newer is needed by the Cuda backend (the Host backend needs none).";

    private static readonly string[] s_candidates = [LibraryName, "libnccl.so"];
    private static readonly Lock s_lock = new();
    private static nint s_library;

    /// <summary>The loader handle of NCCL; loads it on first use or throws <see cref="NativeLibraryMissingException"/>.</summary>
    internal static nint LibraryHandle
    {
        get
        {
            nint handle = Volatile.Read(ref s_library);
            return handle != 0 ? handle : Load();
        }
    }

    /// <summary>Where NCCL was loaded from: the override path, or the soname.</summary>
    internal static string Path
    {
        get
        {
            string? overridePath = Environment.GetEnvironmentVariable(PathVariable);
            return string.IsNullOrWhiteSpace(overridePath) ? LibraryName : overridePath;
        }
    }

    /// <summary>Loads NCCL if it is not loaded yet; false with a reason when it cannot be, or when it is older than 2.28.</summary>
    internal static bool TryLoad(out string reason)
    {
        try
        {
            _ = LibraryHandle;
        }
        catch (NativeLibraryMissingException e)
        {
            reason = e.Message;
            return false;
        }

        int version = GetVersion();
        reason = version >= MinimumVersion ? string.Empty : $"{Path} is NCCL {FormatVersion(version)}; the Cuda backend needs NCCL {FormatVersion(MinimumVersion)} or newer. Set {PathVariable} to a newer libnccl.so.2.";
        return reason.Length == 0;
    }

    /// <summary>NCCL's version code, e.g. 22803 for 2.28.3 (ncclGetVersion).</summary>
    internal static int GetVersion()
    {
        Check.Nccl(ncclGetVersion(out int version), "ncclGetVersion");
        return version;
    }

    /// <summary>Splits a version code into (major, minor, patch); codes below 2.9 use the old 1000/100 scheme.</summary>
    internal static (int Major, int Minor, int Patch) SplitVersion(int code) =>
        code < 10000 ? (code / 1000, code / 100 % 10, code % 100) : (code / 10000, code / 100 % 100, code % 100);

    /// <summary>"2.28.3" from 22803.</summary>
    internal static string FormatVersion(int code)
    {
        (int major, int minor, int patch) = SplitVersion(code);
        return $"{major}.{minor}.{patch}";
    }

    /// <summary>"ncclInvalidArgument (4): invalid argument ... Last NCCL error: '...'" for an exception message.</summary>
    internal static string DescribeResult(NcclResult status, nint comm)
    {
        string text = status.ToString();
        string last = string.Empty;
        if (Volatile.Read(ref s_library) != 0)
        {
            text = Marshal.PtrToStringUTF8((nint)ncclGetErrorString(status)) ?? text;
            string? lastError = Marshal.PtrToStringUTF8((nint)ncclGetLastError(comm));
            last = string.IsNullOrEmpty(lastError) ? string.Empty : $" Last NCCL error: '{lastError}'.";
        }

        return $"nccl{status} ({(int)status}): {text}.{last} Run with NCCL_DEBUG=WARN (or INFO) for NCCL's own log.";
    }

    private static nint Load()
    {
        lock (s_lock)
        {
            if (s_library == 0)
                Volatile.Write(ref s_library, NativeLibraryLoader.Load(LibraryName, PathVariable, MissingHint, s_candidates));
            return s_library;
        }
    }

    [LibraryImport(LibraryName)]
    internal static partial NcclResult ncclGetVersion(out int version);

    [LibraryImport(LibraryName)]
    internal static partial byte* ncclGetErrorString(NcclResult result);

    /// <summary>The last error NCCL recorded for <paramref name="comm"/> (or globally with 0), as text it owns.</summary>
    [LibraryImport(LibraryName)]
    internal static partial byte* ncclGetLastError(nint comm);
}
