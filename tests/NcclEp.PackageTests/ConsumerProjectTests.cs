using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security;
using NcclEp.Testing;
using Xunit;
using Xunit.Abstractions;

namespace NcclEp.PackageTests;

/// <summary>
/// A brand-new console project in a temporary folder restores NcclEp 0.1.0 (NcclEp.Graphs inside) from the folder
/// feed (and everything else from the sources the repository's restore uses), builds with warnings as errors
/// (so the packed analyzers load cleanly), and runs a 2-rank Host round trip that prints "ok".
/// </summary>
[Collection(PackagesCollection.Name)]
public sealed class ConsumerProjectTests
{
    private readonly PackedPackages _packages;
    private readonly ITestOutputHelper _output;

    public ConsumerProjectTests(PackedPackages packages, ITestOutputHelper output)
    {
        _packages = packages;
        _output = output;
    }

    [Fact]
    public void New_console_project_builds_and_runs_a_host_round_trip_from_the_packages()
    {
        Assert.True(_packages.Packed(out string why), why);
        _output.WriteLine($"pack: {_packages.PackElapsed.TotalSeconds:0.0} s");

        string app = Path.Combine(_packages.Root, "consumer");
        Directory.CreateDirectory(app);
        // Stop MSBuild and NuGet from picking up anything above the temporary folder.
        File.WriteAllText(Path.Combine(app, "Directory.Build.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(app, "Directory.Build.targets"), "<Project />\n");
        File.WriteAllText(Path.Combine(app, "Directory.Packages.props"), "<Project />\n");
        File.WriteAllText(Path.Combine(app, "NuGet.config"), NuGetConfig(RestoreSources()));
        File.WriteAllText(Path.Combine(app, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>disable</ImplicitUsings>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="NcclEp" Version="{PackedPackages.Version}" />
              </ItemGroup>
            </Project>
            """);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "ConsumerApp", "Program.cs"), Path.Combine(app, "Program.cs"));

        // A fresh global packages folder: a cached NcclEp 0.1.0 from an earlier run cannot shadow the new one.
        var environment = new Dictionary<string, string>
        {
            ["NUGET_PACKAGES"] = Path.Combine(_packages.Root, "nuget-packages"),
            ["NUGET_HTTP_CACHE_PATH"] = Path.Combine(_packages.Root, "nuget-http-cache"),
        };

        CliResult restore = Step(app, ["restore", "Consumer.csproj"], TimeSpan.FromMinutes(2), environment);
        string assets = File.ReadAllText(Path.Combine(app, "obj", "project.assets.json"));
        Assert.Contains("analyzers/dotnet/cs/NcclEp.Generators.dll", assets, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(environment["NUGET_PACKAGES"], "ncclep", PackedPackages.Version)), restore.Describe());

        CliResult build = Step(app, ["build", "Consumer.csproj", "-c", "Release", "--no-restore", "-nodeReuse:false"], TimeSpan.FromMinutes(2), environment);
        Assert.DoesNotContain("AD0001", build.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("CS8032", build.Output, StringComparison.Ordinal);

        CliResult run = Step(app, ["run", "--project", "Consumer.csproj", "-c", "Release", "--no-build"], TimeSpan.FromMinutes(1), environment);
        _output.WriteLine(run.Output.TrimEnd());
        string[] lines = run.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Contains("ok", StringComparer.Ordinal), run.Describe());
    }

    private CliResult Step(string directory, string[] arguments, TimeSpan limit, IReadOnlyDictionary<string, string> environment)
    {
        CliResult result = _packages.Dotnet(directory, arguments, limit, environment);
        _output.WriteLine($"{result.Command}: exit {result.ExitCode}, {result.Elapsed.TotalSeconds:0.0} s");
        Assert.True(result.ExitCode == 0, result.Describe());
        return result;
    }

    /// <summary>The enabled package sources of the repository's restore (<c>dotnet nuget list source</c>), else nuget.org.</summary>
    private List<string> RestoreSources()
    {
        var sources = new List<string>();
        CliResult list = _packages.Dotnet(_packages.RepoRoot, ["nuget", "list", "source", "--format", "short"], TimeSpan.FromSeconds(30));
        if (list.ExitCode == 0)
        {
            foreach (string line in list.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                int space = line.IndexOf(' ', StringComparison.Ordinal);
                if (space <= 0) continue;
                string flags = line[..space];
                if (!flags.Contains('E', StringComparison.Ordinal) || flags.Contains('D', StringComparison.Ordinal)) continue;
                string source = line[(space + 1)..].Trim();
                if (source.Length > 0 && !sources.Contains(source, StringComparer.Ordinal)) sources.Add(source);
            }
        }
        if (sources.Count == 0) sources.Add("https://api.nuget.org/v3/index.json");
        return sources;
    }

    /// <summary>
    /// The folder feed plus the repository's sources, with source mapping: NcclEp and NcclEp.* come only from
    /// the folder feed, everything else from the other sources.
    /// </summary>
    private string NuGetConfig(List<string> sources)
    {
        var config = new System.Text.StringBuilder();
        config.Append("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n  <packageSources>\n    <clear />\n");
        config.Append("    <add key=\"ncclep-local\" value=\"").Append(SecurityElement.Escape(_packages.Feed)).Append("\" />\n");
        for (int i = 0; i < sources.Count; i++)
            config.Append("    <add key=\"source").Append(i).Append("\" value=\"").Append(SecurityElement.Escape(sources[i])).Append("\" />\n");
        config.Append("  </packageSources>\n  <packageSourceMapping>\n");
        config.Append("    <packageSource key=\"ncclep-local\">\n      <package pattern=\"NcclEp\" />\n      <package pattern=\"NcclEp.*\" />\n    </packageSource>\n");
        for (int i = 0; i < sources.Count; i++)
            config.Append("    <packageSource key=\"source").Append(i).Append("\">\n      <package pattern=\"*\" />\n    </packageSource>\n");
        config.Append("  </packageSourceMapping>\n</configuration>\n");
        return config.ToString();
    }
}
