using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NcclEp.Generators.Models;

namespace NcclEp.Generators;

/// <summary>
/// Completes every <c>[EpTokenView]</c> and <c>[EpMetadataView]</c> <c>readonly ref partial struct</c> with its
/// constructors, length properties, bounds-checked indexer and row accessors.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class ViewGenerator : IIncrementalGenerator
{
    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValuesProvider<ViewModel> tokenViews = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KnownNames.TokenViewAttribute,
                static (node, _) => node is StructDeclarationSyntax,
                static (ctx, _) => Parse((INamedTypeSymbol)ctx.TargetSymbol, ctx.Attributes[0], token: true, problems: null))
            .Where(static model => model is not null)
            .Select(static (model, _) => model!)
            .WithTrackingName(TrackingNames.TokenViews);

        IncrementalValuesProvider<ViewModel> metadataViews = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KnownNames.MetadataViewAttribute,
                static (node, _) => node is StructDeclarationSyntax,
                static (ctx, _) => Parse((INamedTypeSymbol)ctx.TargetSymbol, ctx.Attributes[0], token: false, problems: null))
            .Where(static model => model is not null)
            .Select(static (model, _) => model!)
            .WithTrackingName(TrackingNames.MetadataViews);

        context.RegisterSourceOutput(tokenViews, static (spc, model) => spc.AddSource(HintName(model), Emit(model)));
        context.RegisterSourceOutput(metadataViews, static (spc, model) => spc.AddSource(HintName(model), Emit(model)));
    }

    private static string HintName(ViewModel model) =>
        (model.Namespace.Length == 0 ? "" : model.Namespace + ".") + model.HintName + ".g.cs";
}
