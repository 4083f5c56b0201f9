using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using NcclEp.Generators.Declarations;
using NcclEp.Generators.Diagnostics;
using NcclEp.Generators.Helpers;
using NcclEp.Generators.Models;

namespace NcclEp.Generators;

public sealed partial class LaunchStubGenerator
{
    private const string AttributeName = "EpSpecialization";
    private const string QuantizedDispatchKernelName = "QuantizedDispatchKernel";

    /// <summary>
    /// Reads one stub declaration into a model; null if anything is wrong with it (the analyzer passes
    /// <paramref name="problems"/> to learn what, the generator skips it).
    /// </summary>
    internal static LaunchStubModel? Parse(INamedTypeSymbol type, AttributeData attribute, List<Problem>? problems)
    {
        bool ok = true;
        void Report(DiagnosticDescriptor descriptor, bool atType, params object[] args)
        {
            ok = false;
            problems?.Add(new Problem(descriptor, atType, args));
        }

        INamedTypeSymbol? container = type.ContainingType;
        if (!Targets.IsPartial(type))
            Report(DiagnosticDescriptors.TargetNotPartial, true, type.Name, AttributeName);
        if (type.TypeKind != TypeKind.Class || !type.IsStatic || type.TypeParameters.Length != 0)
            Report(DiagnosticDescriptors.InvalidTarget, true, AttributeName, type.Name, "the stubs live in a non-generic static class");
        if (container is null || !container.IsStatic || container.ContainingType is not null || container.TypeParameters.Length != 0)
        {
            Report(DiagnosticDescriptors.InvalidTarget, true, AttributeName, type.Name, "the class must be nested in a top-level static partial class, which receives the router");
        }
        else if (!Targets.IsPartial(container))
        {
            Report(DiagnosticDescriptors.TargetNotPartial, true, container.Name, AttributeName);
        }

        ImmutableArray<TypedConstant> args = attribute.ConstructorArguments;
        if (args.Length != 6 || Targets.IntOf(args[0]) is not int mode || Targets.IntOf(args[1]) is not int layout
            || args[5].Kind != TypedConstantKind.Array)
        {
            Report(DiagnosticDescriptors.InvalidTarget, false, AttributeName, type.Name, "the attribute's arguments do not bind");
            return null;
        }
        if (!KnownNames.IsLayoutValid(mode, layout))
        {
            Report(DiagnosticDescriptors.LayoutNotValidForMode, false,
                KnownNames.NameOf(KnownNames.Layouts, layout), KnownNames.NameOf(KnownNames.Modes, mode));
        }

        var kernels = new string[3];
        for (int i = 0; i < 3; i++)
        {
            kernels[i] = args[2 + i].Value as string ?? "";
            if (!IsCIdentifier(kernels[i]))
                Report(DiagnosticDescriptors.InvalidTarget, false, AttributeName, type.Name, $"kernel entry point '{kernels[i]}' is not a C identifier");
        }

        string quantized = "";
        foreach (KeyValuePair<string, TypedConstant> named in attribute.NamedArguments)
        {
            if (named.Key != QuantizedDispatchKernelName) continue;
            quantized = named.Value.Value as string ?? "";
            if (!IsCIdentifier(quantized))
                Report(DiagnosticDescriptors.InvalidTarget, false, AttributeName, type.Name, $"kernel entry point '{quantized}' is not a C identifier");
        }

        var rows = new List<RowDimension>();
        foreach (TypedConstant value in args[5].Values)
        {
            string? spec = value.Value as string;
            RowDimension? row = Dimensions.ParseRow(spec, out string error);
            if (row is null) Report(DiagnosticDescriptors.InvalidDimension, false, spec ?? "null", AttributeName, type.Name, error);
            else rows.Add(row);
        }
        if (ok && (rows.Count is < 2 or > 3 || rows[rows.Count - 1].Expression != "s.Hidden" || rows[rows.Count - 1].AtLeast))
            Report(DiagnosticDescriptors.InvalidTarget, false, AttributeName, type.Name, "the rows tensor has 2 or 3 dimensions, the last exactly 'hidden'");

        if (!ok) return null;
        return new LaunchStubModel(
            Targets.NamespaceOf(container!),
            container!.Name,
            type.Name,
            mode,
            layout,
            kernels[0],
            kernels[1],
            kernels[2],
            new EquatableArray<RowDimension>(rows.ToArray()),
            quantized);
    }

    private static bool IsCIdentifier(string text)
    {
        if (text.Length == 0 || !(text[0] == '_' || (text[0] | 0x20) is >= 'a' and <= 'z')) return false;
        foreach (char c in text)
        {
            if (!(c == '_' || (c | 0x20) is >= 'a' and <= 'z' || c is >= '0' and <= '9')) return false;
        }
        return true;
    }
}
