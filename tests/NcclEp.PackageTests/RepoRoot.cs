using System;
using System.IO;

namespace NcclEp.PackageTests;

/// <summary>The repository root: the first folder up from the test assembly that holds NcclEp.sln.</summary>
internal static class RepoRoot
{
    public static string Find()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NcclEp.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"NcclEp.sln not found in any folder above {AppContext.BaseDirectory}.");
    }
}
