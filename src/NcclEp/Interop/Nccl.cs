using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace NcclEp.Interop;

/// <summary>
/// Control-path NCCL calls under their C names, through function pointers resolved once from
/// <c>libnccl.so.2</c> (or the file named by <c>NCCLEP_NCCL_PATH</c>). Each returns the raw ncclResult_t;
/// pass it to <see cref="Check.Nccl"/>. The data-path calls are in <see cref="NcclHotPath"/>.
/// Communicators and windows are <see cref="nint"/> (ncclComm_t, ncclWindow_t).
/// </summary>
internal static unsafe partial class Nccl
{
    /// <summary>The environment variable that names the NCCL library file to load instead of the default.</summary>
    internal const string PathVariable = "NCCLEP_NCCL_PATH";

    private const string MissingHint = "NCCL 2.28 or newer is needed by the Cuda backend (the Host backend needs none).";

    private static readonly string[] s_candidates = ["libnccl.so.2", "libnccl.so"];
    private static readonly Lock s_lock = new();
    private static NcclApi? s_api;

    /// <summary>The resolved entry points; loads NCCL on first use or throws <see cref="NativeLibraryMissingException"/>.</summary>
    internal static NcclApi Api
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Volatile.Read(ref s_api) ?? Load();
    }

    /// <summary>Loads NCCL if it is not loaded yet; false with a reason when it cannot be.</summary>
    internal static bool TryLoad(out string reason) => NativeLibraryLoader.TryResolve(() => Api, out reason);

    /// <summary>NCCL's version code, e.g. 22803 for 2.28.3 (ncclGetVersion).</summary>
    internal static int GetVersion()
    {
        int version;
        Check.Nccl(Api.GetVersion(&version), "ncclGetVersion");
        return version;
    }

    /// <summary>Splits a version code into (major, minor, patch); codes below 2.9 use the old 1000/100 scheme.</summary>
    internal static (int Major, int Minor, int Patch) SplitVersion(int code) =>
        code < 10000 ? (code / 1000, code / 100 % 10, code % 100) : (code / 10000, code / 100 % 100, code % 100);

    /// <summary>"ncclInvalidArgument (4): invalid argument ... Last NCCL error: '...'" for an exception message.</summary>
    internal static string DescribeResult(NcclResult status, nint comm)
    {
        NcclApi? api = Volatile.Read(ref s_api);
        string text = status.ToString();
        string last = string.Empty;
        if (api is not null)
        {
            text = Marshal.PtrToStringUTF8((nint)api.GetErrorString(status)) ?? text;
            if (api.GetLastError != null)
            {
                string? lastError = Marshal.PtrToStringUTF8((nint)api.GetLastError(comm));
                last = string.IsNullOrEmpty(lastError) ? string.Empty : $" Last NCCL error: '{lastError}'.";
            }
        }

        return $"nccl{status} ({(int)status}): {text}.{last} Run with NCCL_DEBUG=WARN (or INFO) for NCCL's own log.";
    }

    /// <summary>Throws when the loaded NCCL lacks an entry point that a newer release added.</summary>
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ThrowMissingEntryPoint(string symbol, string sinceVersion)
    {
        NcclApi api = Api;
        int code;
        string found = api.GetVersion(&code) == NcclResult.Success ? FormatVersion(code) : "unknown";
        throw new NotSupportedException(
            $"{symbol} is not exported by {api.Path} (NCCL {found}); it needs NCCL {sinceVersion} or newer. Set {PathVariable} to a newer libnccl.so.2.");
    }

    /// <summary>"2.28.3" from 22803.</summary>
    internal static string FormatVersion(int code)
    {
        (int major, int minor, int patch) = SplitVersion(code);
        return $"{major}.{minor}.{patch}";
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static NcclApi Load()
    {
        lock (s_lock)
        {
            NcclApi? api = s_api;
            if (api is null)
            {
                nint handle = NativeLibraryLoader.Load("libnccl.so.2", PathVariable, MissingHint, s_candidates);
                string? overridePath = Environment.GetEnvironmentVariable(PathVariable);
                api = new NcclApi(handle, string.IsNullOrWhiteSpace(overridePath) ? "libnccl.so.2" : overridePath);
                Volatile.Write(ref s_api, api);
            }

            return api;
        }
    }
}
