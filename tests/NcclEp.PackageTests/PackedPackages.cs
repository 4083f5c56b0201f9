using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.PackageTests;

/// <summary>
/// Packs NcclEp (which carries NcclEp.Graphs) once for the collection: the repository's <c>src/</c> and root files are
/// copied (without bin/obj) into a temporary folder and packed there with <c>dotnet pack -c Release</c> into a
/// folder feed, so the solution's own concurrent build is never touched. The whole collection shares one
/// five-minute budget for its child processes.
/// </summary>
public sealed class PackedPackages : IDisposable
{
    public const string Version = "0.1.0";

    /// <summary>The readme for package users, packed as README.md by both packages.</summary>
    public const string ReadmeSource = "src/PackageReadme.md";

    /// <summary>The property a release pack sets (the README's packing section says so).</summary>
    public const string ReleaseBuild = "-p:ContinuousIntegrationBuild=true";
    public static readonly TimeSpan Budget = TimeSpan.FromMinutes(5);

    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public PackedPackages()
    {
        RepoRoot = PackageTests.RepoRoot.Find();
        Root = Path.Combine(Path.GetTempPath(), "ncclep-package-tests-" + Guid.NewGuid().ToString("N")[..12]);
        Sources = Path.Combine(Root, "repo");
        Feed = Path.Combine(Root, "feed");
        Directory.CreateDirectory(Feed);
        if (!File.Exists(Path.Combine(RepoRoot, ReadmeSource)))
        {
            Problem = $"{ReadmeSource} is missing in {RepoRoot}; the package packs it as their readme (PackageReadmeFile).";
            PackSteps = [];
            return;
        }
        CopyRepository(RepoRoot, Sources);

        // As a release is packed: ContinuousIntegrationBuild maps the source paths in the PDBs (deterministic output).
        // One package: NcclEp, with NcclEp.Graphs (built on the way) inside it.
        var steps = new List<CliResult>
        {
            Dotnet(Sources, ["pack", Path.Combine("src", "NcclEp", "NcclEp.csproj"), "-c", "Release", "-o", Feed, "-nodeReuse:false", ReleaseBuild], TimeSpan.FromMinutes(4)),
        };
        PackSteps = steps;
        PackElapsed = _clock.Elapsed;
    }

    /// <summary>The repository this test runs from.</summary>
    public string RepoRoot { get; }

    /// <summary>The temporary folder everything lives in (deleted at the end).</summary>
    public string Root { get; }

    /// <summary>The copy of the sources that is packed.</summary>
    public string Sources { get; }

    /// <summary>The folder feed holding the .nupkg and .snupkg files.</summary>
    public string Feed { get; }

    public IReadOnlyList<CliResult> PackSteps { get; }

    public TimeSpan PackElapsed { get; }

    /// <summary>Why nothing was packed, when it could not start.</summary>
    public string? Problem { get; }

    /// <summary>Whether the pack succeeded; otherwise the message says why.</summary>
    public bool Packed(out string message)
    {
        if (Problem is not null)
        {
            message = Problem;
            return false;
        }
        foreach (CliResult step in PackSteps)
        {
            if (step.ExitCode != 0)
            {
                message = step.Describe();
                return false;
            }
        }
        message = "";
        return true;
    }

    public string Package(string id) => Path.Combine(Feed, $"{id}.{Version}.nupkg");

    public string SymbolPackage(string id) => Path.Combine(Feed, $"{id}.{Version}.snupkg");

    /// <summary>Runs dotnet with the time limit, cut to what is left of the shared budget.</summary>
    public CliResult Dotnet(string directory, IReadOnlyList<string> arguments, TimeSpan limit,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        TimeSpan left = Budget - _clock.Elapsed;
        if (left < TimeSpan.FromSeconds(5)) left = TimeSpan.FromSeconds(5);
        return DotnetCli.Run(directory, arguments, limit < left ? limit : left, environment);
    }

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary folder is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Root-level files (props, targets, README, NuGet.config, .editorconfig, ...) and src/ without build outputs.</summary>
    private static void CopyRepository(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from))
        {
            string name = Path.GetFileName(file);
            if (name.EndsWith(".sln", StringComparison.OrdinalIgnoreCase)) continue;
            File.Copy(file, Path.Combine(to, name));
        }
        CopyTree(Path.Combine(from, "src"), Path.Combine(to, "src"));
    }

    private static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (string dir in Directory.GetDirectories(from))
        {
            string name = Path.GetFileName(dir);
            if (name is "bin" or "obj" || name.StartsWith('.')) continue;
            CopyTree(dir, Path.Combine(to, name));
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PackagesCollection : ICollectionFixture<PackedPackages>
{
    public const string Name = "packages";
}
