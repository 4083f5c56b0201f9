using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace NcclEp.Generators.Diagnostics;

/// <summary>
/// Checks <c>new EpConfig(...)</c> with constant arguments against what the kernels serve, so that a config
/// that <c>EpConfig.Validate</c> would reject at run time is flagged at compile time (NCEP0001…NCEP0004).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class EpConfigAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        DiagnosticDescriptors.LayoutNotValidForMode,
        DiagnosticDescriptors.TopKOutOfRange,
        DiagnosticDescriptors.HiddenNotSupported,
        DiagnosticDescriptors.UnsupportedTokenDataType);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(static start =>
        {
            INamedTypeSymbol? config = start.Compilation.GetTypeByMetadataName(KnownNames.EpConfig);
            if (config is null) return;
            start.RegisterOperationAction(ctx => Analyze(ctx, config), OperationKind.ObjectCreation);
        });
    }

    private static void Analyze(OperationAnalysisContext ctx, INamedTypeSymbol config)
    {
        var creation = (IObjectCreationOperation)ctx.Operation;
        if (!SymbolEqualityComparer.Default.Equals(creation.Type, config)) return;

        int? mode = null, layout = null;
        Location layoutAt = creation.Syntax.GetLocation();
        foreach (IArgumentOperation argument in creation.Arguments)
        {
            if (argument.Parameter is null || !argument.Value.ConstantValue.HasValue) continue;
            if (argument.Value.ConstantValue.Value is not int value) continue;
            Location at = argument.ArgumentKind == ArgumentKind.DefaultValue ? creation.Syntax.GetLocation() : argument.Syntax.GetLocation();
            switch (argument.Parameter.Name)
            {
                case "Mode":
                    mode = value;
                    break;
                case "Layout":
                    layout = value;
                    layoutAt = at;
                    break;
                case "TopK" when value is < 1 or > 32:
                    ctx.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.TopKOutOfRange, at, value));
                    break;
                case "Hidden" when value is < 512 or > 16384 || value % 128 != 0:
                    ctx.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.HiddenNotSupported, at, value));
                    break;
                case "DataType" when value is not (KnownNames.BFloat16 or KnownNames.Float32):
                    ctx.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.UnsupportedTokenDataType, at,
                        KnownNames.NameOf(KnownNames.DataTypes, value)));
                    break;
            }
        }
        if (mode is int m && layout is int l && !KnownNames.IsLayoutValid(m, l))
        {
            ctx.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.LayoutNotValidForMode, layoutAt,
                KnownNames.NameOf(KnownNames.Layouts, l), KnownNames.NameOf(KnownNames.Modes, m)));
        }
    }
}
