using System;

namespace NcclEp.Interop;

/// <summary>
/// A native library (libcuda, libnccl, libnvrtc) could not be loaded. The message names the library, every
/// file that was tried with the loader's reason, and the environment variable that points at another copy.
/// </summary>
internal sealed class NativeLibraryMissingException : EpException
{
    public NativeLibraryMissingException(string library, string? environmentVariable, string hint, string tried)
        : base(BuildMessage(library, environmentVariable, hint, tried))
    {
        Library = library;
        EnvironmentVariable = environmentVariable;
    }

    public NativeLibraryMissingException() { Library = string.Empty; }

    public NativeLibraryMissingException(string message) : base(message) { Library = string.Empty; }

    public NativeLibraryMissingException(string message, Exception inner) : base(message, inner) { Library = string.Empty; }

    /// <summary>The library that was looked for, as the loader names it (e.g. <c>libnccl.so.2</c>).</summary>
    public string Library { get; }

    /// <summary>The variable that overrides where it is loaded from, or null when there is none.</summary>
    public string? EnvironmentVariable { get; }

    private static string BuildMessage(string library, string? environmentVariable, string hint, string tried)
    {
        string fix = environmentVariable is null
            ? "put its directory on LD_LIBRARY_PATH"
            : $"set {environmentVariable} to its full path (or put its directory on LD_LIBRARY_PATH)";
        return $"{library} could not be loaded. {hint} To fix: {fix}. Tried:{Environment.NewLine}{tried}";
    }
}
