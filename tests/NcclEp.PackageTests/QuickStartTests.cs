using System;
using System.Collections.Generic;
using System.IO;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.PackageTests;

/// <summary>
/// The quick start shown in README.md (and in the packages' readme) is samples/QuickStart/Program.cs, character for
/// character, and that program runs and passes the check it computes itself.
/// </summary>
public sealed class QuickStartTests
{
    private const string Sample = "samples/QuickStart/Program.cs";
    private const string Marker = "<!-- quick-start: " + Sample + " -->";

    public static TheoryData<string> Documents() => new() { "README.md", PackedPackages.ReadmeSource };

    [Theory]
    [MemberData(nameof(Documents))]
    public void The_documented_quick_start_is_the_sample_file_verbatim(string document)
    {
        string root = RepoRoot.Find();
        string sample = Normalize(File.ReadAllText(Path.Combine(root, Sample)));
        string block = CodeBlockAfterMarker(Normalize(File.ReadAllText(Path.Combine(root, document))), document);
        Assert.Equal(sample, block);
    }

    [Fact]
    public void The_sample_runs_and_passes_its_own_check()
    {
        string program = Path.Combine(AppContext.BaseDirectory, "QuickStart.dll");
        Assert.True(File.Exists(program), $"{program} is not built next to the tests");
        CliResult run = DotnetCli.Run(AppContext.BaseDirectory, [program], TimeSpan.FromMinutes(2));
        Assert.True(run.ExitCode == 0, run.Describe());
        string[] lines = run.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("check: passed", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("memory: ", StringComparison.Ordinal));
        Assert.Equal(2, Array.FindAll(lines, l => l.StartsWith("rank ", StringComparison.Ordinal)).Length);
    }

    [Fact]
    public void A_block_that_differs_from_the_sample_is_found()
    {
        string document = $"text\n{Marker}\n```csharp\nint a = 1;\n```\nmore\n";
        Assert.Equal("int a = 1;\n", CodeBlockAfterMarker(document, "test"));
        Assert.NotEqual("int a = 2;\n", CodeBlockAfterMarker(document, "test"));
        Assert.Throws<InvalidOperationException>(() => CodeBlockAfterMarker("no marker here", "test"));
    }

    /// <summary>The text of the <c>```csharp</c> block that follows the marker line (the block's lines, each ending in a newline).</summary>
    private static string CodeBlockAfterMarker(string document, string name)
    {
        string[] lines = document.Split('\n');
        int marker = Array.IndexOf(lines, Marker);
        if (marker < 0 || marker + 1 >= lines.Length || lines[marker + 1] != "```csharp")
            throw new InvalidOperationException($"{name} has no line '{Marker}' followed by a ```csharp block");
        var block = new List<string>();
        for (int i = marker + 2; i < lines.Length; i++)
        {
            if (lines[i] == "```") return string.Join('\n', block) + "\n";
            block.Add(lines[i]);
        }
        throw new InvalidOperationException($"{name}: the quick-start block never closes");
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);
}
