using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using NcclEp.Generators.Declarations;

namespace NcclEp.Generators.Diagnostics;

/// <summary>
/// Reports what is wrong with a declaration the generators skip (NCEP0001, NCEP0005…NCEP0008). It runs the
/// generators' own parse, so the two agree, but lives apart from them so their output stays cached.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class GeneratorAttributeAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        DiagnosticDescriptors.LayoutNotValidForMode,
        DiagnosticDescriptors.ViewLayoutUnknown,
        DiagnosticDescriptors.TargetNotPartial,
        DiagnosticDescriptors.InvalidDimension,
        DiagnosticDescriptors.InvalidTarget);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            INamedTypeSymbol? token = start.Compilation.GetTypeByMetadataName(KnownNames.TokenViewAttribute);
            INamedTypeSymbol? metadata = start.Compilation.GetTypeByMetadataName(KnownNames.MetadataViewAttribute);
            INamedTypeSymbol? stubs = start.Compilation.GetTypeByMetadataName(KnownNames.LaunchStubsAttribute);
            if (token is null && metadata is null && stubs is null) return;
            start.RegisterSymbolAction(ctx => Analyze(ctx, token, metadata, stubs), SymbolKind.NamedType);
        });
    }

    private static void Analyze(SymbolAnalysisContext ctx, INamedTypeSymbol? token, INamedTypeSymbol? metadata, INamedTypeSymbol? stubs)
    {
        var type = (INamedTypeSymbol)ctx.Symbol;
        foreach (AttributeData attribute in type.GetAttributes())
        {
            INamedTypeSymbol? cls = attribute.AttributeClass;
            if (cls is null) continue;
            var problems = new List<Problem>();
            if (SymbolEqualityComparer.Default.Equals(cls, token)) ViewGenerator.Parse(type, attribute, token: true, problems);
            else if (SymbolEqualityComparer.Default.Equals(cls, metadata)) ViewGenerator.Parse(type, attribute, token: false, problems);
            else if (SymbolEqualityComparer.Default.Equals(cls, stubs)) LaunchStubGenerator.Parse(type, attribute, problems);
            else continue;

            Location attributeAt = attribute.ApplicationSyntaxReference?.GetSyntax(ctx.CancellationToken).GetLocation()
                ?? type.Locations[0];
            foreach (Problem problem in problems)
            {
                Location at = problem.AtType ? type.Locations[0] : attributeAt;
                ctx.ReportDiagnostic(Diagnostic.Create(problem.Descriptor, at, problem.Args));
            }
        }
    }
}
