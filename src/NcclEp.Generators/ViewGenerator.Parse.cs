using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using NcclEp.Generators.Declarations;
using NcclEp.Generators.Diagnostics;
using NcclEp.Generators.Helpers;
using NcclEp.Generators.Models;

namespace NcclEp.Generators;

public sealed partial class ViewGenerator
{
    private const string TokenAttribute = "EpTokenView";
    private const string MetadataAttribute = "EpMetadataView";

    /// <summary>
    /// Reads one view declaration into a model; null if anything is wrong with it. The analyzer passes
    /// <paramref name="problems"/> to learn what; the generator passes null and skips the declaration.
    /// </summary>
    internal static ViewModel? Parse(INamedTypeSymbol type, AttributeData attribute, bool token, List<Problem>? problems)
    {
        string attributeName = token ? TokenAttribute : MetadataAttribute;
        bool ok = true;
        void Report(DiagnosticDescriptor descriptor, bool atType, params object[] args)
        {
            ok = false;
            problems?.Add(new Problem(descriptor, atType, args));
        }

        if (!Targets.IsPartial(type))
            Report(DiagnosticDescriptors.TargetNotPartial, true, type.Name, attributeName);
        if (type.TypeKind != TypeKind.Struct || !type.IsRefLikeType || !type.IsReadOnly)
            Report(DiagnosticDescriptors.InvalidTarget, true, attributeName, type.Name, "a view must be a readonly ref struct");
        if (type.ContainingType is not null)
            Report(DiagnosticDescriptors.InvalidTarget, true, attributeName, type.Name, "a view must not be nested in another type");
        if (token && (type.TypeParameters.Length != 1 || !type.TypeParameters[0].HasUnmanagedTypeConstraint))
            Report(DiagnosticDescriptors.InvalidTarget, true, attributeName, type.Name, "a token view has one type parameter, constrained to unmanaged");
        if (!token && type.TypeParameters.Length != 0)
            Report(DiagnosticDescriptors.InvalidTarget, true, attributeName, type.Name, "a metadata view is not generic");

        ImmutableArray<TypedConstant> args = attribute.ConstructorArguments;
        if (args.Length != 2 || Targets.IntOf(args[0]) is not int first || args[1].Kind != TypedConstantKind.Array)
        {
            Report(DiagnosticDescriptors.InvalidTarget, false, attributeName, type.Name, "the attribute's arguments do not bind");
            return null;
        }

        int layout = -1, dataType = -1;
        if (token)
        {
            layout = first;
            if (!KnownNames.IsKnownLayout(layout))
                Report(DiagnosticDescriptors.ViewLayoutUnknown, false, type.Name, KnownNames.NameOf(KnownNames.Layouts, layout));
        }
        else
        {
            dataType = first;
            if (dataType is not (KnownNames.Int32 or KnownNames.Float32 or KnownNames.PackedUE8M0))
                Report(DiagnosticDescriptors.InvalidTarget, false, attributeName, type.Name, "a metadata view holds Int32, Float32 or PackedUE8M0 elements");
        }

        string summary = "";
        RecordModel? record = null;
        foreach (KeyValuePair<string, TypedConstant> named in attribute.NamedArguments)
        {
            if (named.Key == "Summary" && named.Value.Value is string text)
            {
                summary = text;
            }
            else if (named.Key == "Record" && named.Value.Value is INamedTypeSymbol recordType)
            {
                record = ReadRecord(recordType, dataType, out string? why);
                if (why is not null) Report(DiagnosticDescriptors.InvalidTarget, false, attributeName, type.Name, why);
            }
        }
        if (token && record is not null)
            Report(DiagnosticDescriptors.InvalidTarget, false, attributeName, type.Name, "a token view has no record");

        var dimensions = new List<ViewDimension>();
        var names = new HashSet<string>();
        foreach (TypedConstant value in args[1].Values)
        {
            string? spec = value.Value as string;
            ViewDimension? dimension = Dimensions.ParseView(spec, out string error);
            if (dimension is null)
            {
                Report(DiagnosticDescriptors.InvalidDimension, false, spec ?? "null", attributeName, type.Name, error);
                continue;
            }
            if (!names.Add(dimension.Property) || !names.Add(dimension.Index))
            {
                Report(DiagnosticDescriptors.InvalidDimension, false, spec!, attributeName, type.Name, "a name is used twice");
                continue;
            }
            dimensions.Add(dimension);
        }

        int tensorRank = dimensions.Count + (record is null ? 0 : 1);
        int minimum = token ? 2 : 1;
        if (dimensions.Count < minimum || tensorRank > 3)
        {
            string why = token
                ? "a token view has 2 or 3 dimensions (rows of hidden elements)"
                : "a metadata view's descriptor has 1 to 3 dimensions (a record counts as one)";
            Report(DiagnosticDescriptors.InvalidTarget, false, attributeName, type.Name, why);
        }

        if (!ok) return null;

        string element = token
            ? type.TypeParameters[0].Name
            : record is not null ? record.FullName : ScalarType(dataType);
        return new ViewModel(
            Targets.NamespaceOf(type),
            Targets.AccessibilityOf(type),
            type.Name,
            token ? type.TypeParameters[0].Name : null,
            layout,
            dataType,
            element,
            record,
            summary,
            new EquatableArray<ViewDimension>(dimensions.ToArray()));
    }

    /// <summary>The C# type of one element of a metadata view (all 4 bytes).</summary>
    private static string ScalarType(int dataType) => dataType switch
    {
        KnownNames.Int32 => "int",
        KnownNames.PackedUE8M0 => "global::NcclEp.PackedUE8M0",
        _ => "float",
    };

    /// <summary>A record must be a struct of 1 to 8 instance fields, all of the view's scalar type.</summary>
    private static RecordModel? ReadRecord(INamedTypeSymbol recordType, int dataType, out string? why)
    {
        why = null;
        SpecialType scalar = dataType == KnownNames.Float32 ? SpecialType.System_Single : SpecialType.System_Int32;
        var fields = new List<string>();
        foreach (ISymbol member in recordType.GetMembers())
        {
            if (member is not IFieldSymbol { IsStatic: false } field) continue;
            if (field.Type.SpecialType != scalar)
            {
                why = $"every field of the record '{recordType.Name}' must be {KnownNames.NameOf(KnownNames.DataTypes, dataType)}";
                return null;
            }
            fields.Add(field.AssociatedSymbol?.Name ?? field.Name);
        }
        if (recordType.TypeKind != TypeKind.Struct || fields.Count is < 1 or > 8)
        {
            why = $"the record '{recordType.Name}' must be a struct of 1 to 8 fields";
            return null;
        }
        return new RecordModel(recordType.Name, recordType.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat), fields.Count, new EquatableArray<string>(fields.ToArray()));
    }
}
