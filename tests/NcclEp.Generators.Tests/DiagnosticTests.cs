using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace NcclEp.Generators.Tests;

/// <summary>One test per diagnostic: the analyzers report it, and the generators skip what they cannot complete.</summary>
public class DiagnosticTests
{
    private const string Prelude = "using System;\n\nnamespace NcclEp;\n\n";

    [Fact]
    public void NCEP0001_constant_config_with_a_layout_its_mode_does_not_have()
    {
        Diagnostic d = Single(Analyze("""
            internal static class Use
            {
                public static EpConfig Config => new EpConfig(EpMode.LowLatency, 64, 7168, 8, 128, EpLayout.Flat);
            }
            """), "NCEP0001");
        Assert.Contains("Layout Flat is not valid for mode LowLatency", d.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
        Assert.Equal("EpLayout.Flat", SourceOf(d));
    }

    [Fact]
    public void NCEP0001_specialization_declared_for_a_layout_its_mode_does_not_have()
    {
        const string input = """
            internal static partial class EpLaunchStubs
            {
                [EpSpecialization(EpMode.HighThroughput, EpLayout.RankMajor, "ncclep_update", "ncclep_dispatch", "ncclep_combine",
                    "worldSize", "maxTokensPerRank", "hidden")]
                internal static partial class HighThroughputRankMajor
                {
                }
            }
            """;
        Single(Analyze(input, library: false), "NCEP0001");
        Assert.DoesNotContain(Generate(input), h => h.Contains("HighThroughputRankMajor", System.StringComparison.Ordinal));
    }

    [Fact]
    public void NCEP0002_constant_top_k_outside_1_to_32()
    {
        Diagnostic d = Single(Analyze("""
            internal static class Use
            {
                public static EpConfig Config => new(EpMode.LowLatency, 64, 7168, TopK: 33, MaxTokensPerRank: 128, Layout: EpLayout.ExpertMajor);
            }
            """), "NCEP0002");
        Assert.Equal("TopK: 33", SourceOf(d));
    }

    [Fact]
    public void NCEP0003_constant_hidden_not_a_multiple_of_128_in_512_to_16384()
    {
        ImmutableArray<Diagnostic> diagnostics = Analyze("""
            internal static class Use
            {
                public static EpConfig A => new EpConfig(EpMode.HighThroughput, 64, 7000, 8, 128, EpLayout.Flat);
                public static EpConfig B => new EpConfig(EpMode.HighThroughput, 64, 256, 8, 128, EpLayout.Flat);
                public static EpConfig Fine => new EpConfig(EpMode.HighThroughput, 64, 7168, 8, 128, EpLayout.Flat);
            }
            """);
        // The analyzer driver reports in no fixed order: compare in source order.
        Assert.Equal(new[] { "7000", "256" }, diagnostics.Where(d => d.Id == "NCEP0003").OrderBy(d => d.Location.SourceSpan.Start).Select(SourceOf));
        Assert.Equal(2, diagnostics.Length);
    }

    [Fact]
    public void NCEP0004_constant_token_data_type_int32()
    {
        Diagnostic d = Single(Analyze("""
            internal static class Use
            {
                public static EpConfig Config => new EpConfig(EpMode.LowLatency, 64, 7168, 8, 128, EpLayout.RankMajor, EpDataType.Int32);
            }
            """), "NCEP0004");
        Assert.Equal("EpDataType.Int32", SourceOf(d));
    }

    [Fact]
    public void NCEP0005_token_view_for_a_layout_no_mode_produces()
    {
        const string input = """
            [EpTokenView((EpLayout)7, "Rows:row", "Hidden:element")]
            public readonly ref partial struct SeventhTokens<T>
                where T : unmanaged
            {
            }
            """;
        Single(Analyze(input, library: false), "NCEP0005");
        Assert.DoesNotContain(Generate(input), h => h.Contains("SeventhTokens", System.StringComparison.Ordinal));
    }

    [Fact]
    public void NCEP0006_view_that_is_not_partial()
    {
        const string input = """
            [EpMetadataView(EpDataType.Int32, "Length:index")]
            public readonly ref struct LonelyCounts
            {
            }
            """;
        Diagnostic d = Single(Analyze(input, library: false), "NCEP0006");
        Assert.Equal("LonelyCounts", SourceOf(d));
        Assert.DoesNotContain(Generate(input), h => h.Contains("LonelyCounts", System.StringComparison.Ordinal));
    }

    [Fact]
    public void NCEP0006_stub_container_that_is_not_partial()
    {
        const string input = """
            internal static class OtherStubs
            {
                [EpSpecialization(EpMode.LowLatency, EpLayout.RankMajor, "ncclep_update", "ncclep_dispatch", "ncclep_combine",
                    "worldSize", "maxTokensPerRank", "hidden")]
                internal static partial class LowLatencyRankMajor
                {
                }
            }
            """;
        Diagnostic d = Single(Analyze(input, library: false), "NCEP0006");
        Assert.Contains("'OtherStubs' must be declared partial", d.GetMessage(System.Globalization.CultureInfo.InvariantCulture), System.StringComparison.Ordinal);
    }

    [Fact]
    public void NCEP0007_dimension_that_does_not_parse()
    {
        const string input = """
            internal static partial class EpLaunchStubs
            {
                [EpSpecialization(EpMode.LowLatency, EpLayout.RankMajor, "ncclep_update", "ncclep_dispatch", "ncclep_combine",
                    "worldSize", "maxTokens", "hidden")]
                internal static partial class LowLatencyRankMajor
                {
                }
            }

            [EpMetadataView(EpDataType.Float32, "rows:Row")]
            public readonly ref partial struct BadWeights
            {
            }
            """;
        ImmutableArray<Diagnostic> diagnostics = Analyze(input, library: false);
        Assert.Equal(2, diagnostics.Count(d => d.Id == "NCEP0007"));
        Assert.Contains(diagnostics, d => d.GetMessage(System.Globalization.CultureInfo.InvariantCulture).Contains("'maxTokens' is neither a group size", System.StringComparison.Ordinal));
        Assert.DoesNotContain(Generate(input), h => h.Contains("BadWeights", System.StringComparison.Ordinal) || h.Contains("RankMajor", System.StringComparison.Ordinal));
    }

    [Fact]
    public void NCEP0008_view_that_is_not_a_ref_struct_or_not_generic()
    {
        const string input = """
            [EpTokenView(EpLayout.Flat, "Rows:row", "Hidden:element")]
            public readonly partial struct HeapTokens<T>
                where T : unmanaged
            {
            }

            [EpTokenView(EpLayout.Flat, "Rows:row", "Hidden:element")]
            public readonly ref partial struct UntypedTokens
            {
            }
            """;
        ImmutableArray<Diagnostic> diagnostics = Analyze(input, library: false);
        Assert.Equal(2, diagnostics.Count(d => d.Id == "NCEP0008"));
        Assert.Contains(diagnostics, d => d.GetMessage(System.Globalization.CultureInfo.InvariantCulture).Contains("readonly ref struct", System.StringComparison.Ordinal));
        Assert.Contains(diagnostics, d => d.GetMessage(System.Globalization.CultureInfo.InvariantCulture).Contains("one type parameter", System.StringComparison.Ordinal));
        Assert.Empty(Generate(input));
    }

    [Fact]
    public void Library_declarations_and_configs_report_nothing()
    {
        Assert.Empty(GeneratorHarness.Analyze(GeneratorHarness.Library()));
    }

    private static ImmutableArray<Diagnostic> Analyze(string input, bool library = true)
    {
        Compilation compilation = library
            ? GeneratorHarness.Library().AddSyntaxTrees(Parse(input))
            : GeneratorHarness.WithInput(Prelude + input);
        return GeneratorHarness.Analyze(compilation);
    }

    private static SyntaxTree Parse(string input) =>
        Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText(Prelude + input, GeneratorHarness.ParseOptions, path: "Input.cs");

    /// <summary>Hint names of what the generators produce for the input alone.</summary>
    private static List<string> Generate(string input) =>
        GeneratorHarness.Run(GeneratorHarness.WithInput(Prelude + input)).Sources.Keys.ToList();

    private static Diagnostic Single(ImmutableArray<Diagnostic> diagnostics, string id)
    {
        Assert.True(diagnostics.Length == 1, string.Join("\n", diagnostics));
        Assert.Equal(id, diagnostics[0].Id);
        return diagnostics[0];
    }

    private static string SourceOf(Diagnostic d) => d.Location.SourceTree!.GetText().ToString(d.Location.SourceSpan);
}
