using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using NcclEp.Generators.Tests.Expected;

namespace NcclEp.Generators.Tests;

/// <summary>One input per layout, with the sources it must generate inline.</summary>
public class ExpectedSourceTests
{
    [Fact]
    public void Flat_input_generates_the_flat_view_and_high_throughput_flat_stubs()
    {
        Dictionary<string, string> sources = RunWithoutErrors(Inputs.Flat);
        AssertSource(FlatSources.View, sources, "NcclEp.FlatTokens{T}.g.cs");
        AssertSource(FlatSources.Stubs, sources, "NcclEp.EpLaunchStubs.HighThroughputFlat.g.cs");
    }

    [Fact]
    public void Expert_major_input_generates_the_expert_major_view_and_low_latency_expert_major_stubs()
    {
        Dictionary<string, string> sources = RunWithoutErrors(Inputs.ExpertMajor);
        AssertSource(ExpertMajorSources.View, sources, "NcclEp.ExpertMajorTokens{T}.g.cs");
        AssertSource(ExpertMajorSources.Stubs, sources, "NcclEp.EpLaunchStubs.LowLatencyExpertMajor.g.cs");
    }

    [Fact]
    public void Rank_major_input_generates_the_rank_major_view_and_low_latency_rank_major_stubs()
    {
        Dictionary<string, string> sources = RunWithoutErrors(Inputs.RankMajor);
        AssertSource(RankMajorSources.View, sources, "NcclEp.RankMajorTokens{T}.g.cs");
        AssertSource(RankMajorSources.Stubs, sources, "NcclEp.EpLaunchStubs.LowLatencyRankMajor.g.cs");
    }

    [Fact]
    public void Library_declarations_generate_the_router_and_kernel_table_of_all_four_specializations_and_the_scale_views()
    {
        (Compilation output, Dictionary<string, string> sources) = GeneratorHarness.Run(GeneratorHarness.Library());
        Assert.Empty(GeneratorHarness.ErrorsAroundGeneratedCode(output));
        AssertSource(LibrarySources.Router, sources, "NcclEp.EpLaunchStubs.Router.g.cs");
        AssertSource(LibrarySources.KernelTable, sources, "NcclEp.EpKernelTable.g.cs");
        AssertSource(LibraryViewSources.SourceInfoRows, sources, "NcclEp.Views.SourceInfoRows.g.cs");
        AssertSource(LibraryViewSources.Counts, sources, "NcclEp.Views.Counts.g.cs");
        AssertSource(LibraryViewSources.PackedBlockScales, sources, "NcclEp.Views.PackedBlockScales.g.cs");
        Assert.Equal(17, sources.Count);
    }

    [Fact]
    public void Library_with_generated_code_has_no_warnings_or_errors_around_it()
    {
        (Compilation output, _) = GeneratorHarness.Run(GeneratorHarness.Library());
        foreach (Diagnostic d in output.GetDiagnostics())
        {
            bool generated = d.Location.SourceTree?.FilePath.EndsWith(".g.cs", System.StringComparison.Ordinal) == true;
            Assert.False(generated && d.Severity >= DiagnosticSeverity.Warning, d.ToString());
        }
        Assert.Empty(GeneratorHarness.ErrorsAroundGeneratedCode(output));
    }

    private static Dictionary<string, string> RunWithoutErrors(string input)
    {
        (Compilation output, Dictionary<string, string> sources) = GeneratorHarness.Run(GeneratorHarness.WithInput(input));
        Assert.Empty(GeneratorHarness.ErrorsAroundGeneratedCode(output));
        Assert.Equal(4, sources.Count); // view, stubs, router, kernel table
        return sources;
    }

    private static void AssertSource(string expected, Dictionary<string, string> sources, string hintName)
    {
        Assert.True(sources.TryGetValue(hintName, out string? actual), $"{hintName} was not generated; got {string.Join(", ", sources.Keys)}");
        Assert.Equal(GeneratorHarness.Normalize(expected) + "\n", GeneratorHarness.Normalize(actual!));
    }
}
