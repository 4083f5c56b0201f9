using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace NcclEp.Generators.Tests;

/// <summary>
/// Builds compilations of the library's own sources (read from the repository) plus a test input, and runs the
/// generators and analyzers over them.
/// </summary>
internal static class GeneratorHarness
{
    /// <summary>The library files that declare generator targets; left out when a test brings its own.</summary>
    private static readonly string[] s_declarationFolders = { "Views", "Launch" };

    private static readonly string[] s_attributeFiles =
    {
        "Views/EpTokenViewAttribute.cs", "Views/EpMetadataViewAttribute.cs", "Views/EpViewChecks.cs",
        "Launch/EpSpecializationAttribute.cs", "Launch/EpOperation.cs", "Launch/EpKernelSpec.cs",
    };

    private static readonly Lazy<ImmutableArray<MetadataReference>> s_references = new(LoadReferences);

    private static readonly Lazy<string> s_libraryFolder = new(FindLibraryFolder);

    public static CSharpParseOptions ParseOptions { get; } =
        new(LanguageVersion.Preview, DocumentationMode.Parse);

    public static ImmutableArray<MetadataReference> References => s_references.Value;

    /// <summary>The library's sources: all of them, or without the generator targets (attributes kept).</summary>
    public static List<SyntaxTree> LibraryTrees(bool withDeclarations)
    {
        string root = s_libraryFolder.Value;
        var trees = new List<SyntaxTree>();
        foreach (string file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal))
        {
            string relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (relative.StartsWith("obj/", StringComparison.Ordinal) || relative.StartsWith("bin/", StringComparison.Ordinal)) continue;
            bool declaration = s_declarationFolders.Any(d => relative.StartsWith(d + "/", StringComparison.Ordinal))
                && !s_attributeFiles.Contains(relative);
            if (declaration && !withDeclarations) continue;
            trees.Add(CSharpSyntaxTree.ParseText(File.ReadAllText(file), ParseOptions, path: relative));
        }
        return trees;
    }

    /// <summary>A compilation of the library (without its own generator targets) plus <paramref name="input"/>.</summary>
    public static CSharpCompilation WithInput(string input, string assemblyName = "NcclEp")
    {
        List<SyntaxTree> trees = LibraryTrees(withDeclarations: false);
        trees.Add(CSharpSyntaxTree.ParseText(input, ParseOptions, path: "Input.cs"));
        return Create(trees, assemblyName);
    }

    /// <summary>A compilation of the whole library, generator targets included.</summary>
    public static CSharpCompilation Library() => Create(LibraryTrees(withDeclarations: true), "NcclEp");

    public static CSharpCompilation Create(IEnumerable<SyntaxTree> trees, string assemblyName) =>
        CSharpCompilation.Create(
            assemblyName,
            trees,
            References,
            new CSharpCompilationOptions(
                OutputKind.DynamicallyLinkedLibrary,
                allowUnsafe: true,
                nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver Driver(bool track = true) =>
        CSharpGeneratorDriver.Create(
            new ISourceGenerator[] { new ViewGenerator().AsSourceGenerator(), new LaunchStubGenerator().AsSourceGenerator() },
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: track));

    /// <summary>Runs both generators; returns the output compilation and the generated sources by hint name.</summary>
    public static (Compilation Output, Dictionary<string, string> Sources) Run(Compilation input)
    {
        GeneratorDriver driver = Driver().RunGeneratorsAndUpdateCompilation(input, out Compilation output, out ImmutableArray<Diagnostic> diagnostics);
        Assert.Empty(diagnostics);
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (GeneratorRunResult result in driver.GetRunResult().Results)
        {
            Assert.Null(result.Exception);
            foreach (GeneratedSourceResult source in result.GeneratedSources) sources.Add(source.HintName, source.SourceText.ToString());
        }
        return (output, sources);
    }

    /// <summary>
    /// Errors where generated code is used or defined: in the generated sources and in the library files that call
    /// them. (Other library files may need generators these tests do not run, such as LibraryImport.)
    /// </summary>
    public static List<Diagnostic> ErrorsAroundGeneratedCode(Compilation output)
    {
        string[] consumers = { "EpGroup.cs", "EpHandle.cs", "EpLaunchStubs.cs", "Input.cs" };
        return output.GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Where(d => d.Location.SourceTree is { } tree
                && (tree.FilePath.EndsWith(".g.cs", StringComparison.Ordinal) || consumers.Contains(Path.GetFileName(tree.FilePath))))
            .ToList();
    }

    /// <summary>Runs the NcclEp analyzers; returns their diagnostics.</summary>
    public static ImmutableArray<Diagnostic> Analyze(Compilation compilation) =>
        compilation
            .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(
                new NcclEp.Generators.Diagnostics.EpConfigAnalyzer(),
                new NcclEp.Generators.Diagnostics.GeneratorAttributeAnalyzer()))
            .GetAnalyzerDiagnosticsAsync()
            .GetAwaiter()
            .GetResult();

    /// <summary>Line endings as the generator writes them, so expected texts compare on any platform.</summary>
    public static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal);

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        string list = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;
        return list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();
    }

    private static string FindLibraryFolder()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NcclEp.sln")))
                return Path.Combine(dir.FullName, "src", "NcclEp");
        }
        throw new InvalidOperationException("NcclEp.sln not found above " + AppContext.BaseDirectory);
    }
}
