using System;
using System.Runtime.InteropServices;
using System.Text;

namespace NcclEp.Interop;

/// <summary>
/// Loads a native library by an override path (from an environment variable) or by a list of sonames.
/// Nothing is loaded at type-load time; callers load on first use so a machine without a GPU only sees
/// an exception when it actually asks for the GPU.
/// </summary>
internal static class NativeLibraryLoader
{
    /// <summary>Loads the library or throws <see cref="NativeLibraryMissingException"/>.</summary>
    public static nint Load(string library, string? environmentVariable, string hint, ReadOnlySpan<string> candidates)
    {
        if (!TryLoad(library, environmentVariable, hint, candidates, out nint handle, out NativeLibraryMissingException? error))
        {
            throw error;
        }

        return handle;
    }

    /// <summary>Loads the library; on failure returns false and the exception that describes why.</summary>
    public static bool TryLoad(
        string library,
        string? environmentVariable,
        string hint,
        ReadOnlySpan<string> candidates,
        out nint handle,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out NativeLibraryMissingException? error)
    {
        NativeRelease.TrackProcessExit();
        var tried = new StringBuilder();
        string? overridePath = environmentVariable is null ? null : Environment.GetEnvironmentVariable(environmentVariable);
        if (!string.IsNullOrWhiteSpace(overridePath))
        {
            // An explicit override is authoritative: falling back to another copy would hide a typo.
            if (TryOne($"{overridePath} (from {environmentVariable})", overridePath, tried, out handle))
            {
                error = null;
                return true;
            }
        }
        else
        {
            foreach (string candidate in candidates)
            {
                if (TryOne(candidate, candidate, tried, out handle))
                {
                    error = null;
                    return true;
                }
            }
        }

        handle = 0;
        error = new NativeLibraryMissingException(library, environmentVariable, hint, tried.ToString());
        return false;
    }

    private static bool TryOne(string label, string path, StringBuilder tried, out nint handle)
    {
        try
        {
            handle = NativeLibrary.Load(path);
            return true;
        }
        catch (DllNotFoundException e)
        {
            tried.Append("  ").Append(label).Append(": ").AppendLine(LoaderReason(e.Message));
        }
        catch (BadImageFormatException e)
        {
            tried.Append("  ").Append(label).Append(": ").AppendLine(LoaderReason(e.Message));
        }

        handle = 0;
        return false;
    }

    // The runtime's message is generic advice followed by dlerror()'s line; keep the latter.
    private static string LoaderReason(string message)
    {
        string[] lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? message : lines[^1];
    }
}
