using System;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NcclEp.Generators.Helpers;
using NcclEp.Generators.Models;

namespace NcclEp.Generators;

/// <summary>
/// Completes every <c>[EpSpecialization]</c> class with the Update, Dispatch and Combine stubs of its (mode, layout),
/// and generates the router on (mode, layout) in the containing class and the kernel table of the Cuda backend.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class LaunchStubGenerator : IIncrementalGenerator
{
    /// <inheritdoc/>
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        IncrementalValuesProvider<LaunchStubModel> stubs = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                KnownNames.LaunchStubsAttribute,
                static (node, _) => node is ClassDeclarationSyntax,
                static (ctx, _) => Parse((INamedTypeSymbol)ctx.TargetSymbol, ctx.Attributes[0], problems: null))
            .Where(static model => model is not null)
            .Select(static (model, _) => model!)
            .WithTrackingName(TrackingNames.LaunchStubs);

        IncrementalValueProvider<EquatableArray<LaunchStubModel>> all = stubs
            .Collect()
            .Select(static (models, _) => Sorted(models))
            .WithTrackingName(TrackingNames.AllLaunchStubs);

        context.RegisterSourceOutput(stubs, static (spc, model) =>
            spc.AddSource(Prefix(model) + model.Container + "." + model.ClassName + ".g.cs", EmitStubs(model)));
        context.RegisterSourceOutput(all, static (spc, models) =>
        {
            if (models.Length == 0) return;
            LaunchStubModel first = models[0];
            spc.AddSource(Prefix(first) + first.Container + ".Router.g.cs", EmitRouter(models));
            spc.AddSource(Prefix(first) + "EpKernelTable.g.cs", EmitKernelTable(models));
        });
    }

    private static string Prefix(LaunchStubModel model) => model.Namespace.Length == 0 ? "" : model.Namespace + ".";

    /// <summary>Orders the stubs by (mode, layout) so the output does not depend on declaration order.</summary>
    private static EquatableArray<LaunchStubModel> Sorted(ImmutableArray<LaunchStubModel> models)
    {
        var sorted = new LaunchStubModel[models.Length];
        models.CopyTo(sorted);
        Array.Sort(sorted, static (a, b) => a.Mode != b.Mode ? a.Mode.CompareTo(b.Mode) : a.Layout.CompareTo(b.Layout));
        return new EquatableArray<LaunchStubModel>(sorted);
    }
}
