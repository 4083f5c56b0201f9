using System;
using System.IO;

namespace NcclEp.Tests.Distributed;

/// <summary>A fresh folder path under the temporary folder (created by whoever writes there first), deleted with all it holds.</summary>
internal sealed class ScratchFolder(string prefix) : IDisposable
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));

    /// <summary>A path inside the folder.</summary>
    public string PathFor(string name) => Path.Combine(Root, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
