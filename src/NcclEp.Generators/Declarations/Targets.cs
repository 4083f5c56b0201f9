using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NcclEp.Generators.Declarations;

/// <summary>Facts about attribute targets that both the generators and the analyzers need.</summary>
internal static class Targets
{
    /// <summary>Whether every declaration of <paramref name="type"/> says <c>partial</c>.</summary>
    public static bool IsPartial(INamedTypeSymbol type)
    {
        foreach (SyntaxReference reference in type.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax() is not TypeDeclarationSyntax declaration) return false;
            bool partial = false;
            foreach (SyntaxToken modifier in declaration.Modifiers)
            {
                if (modifier.IsKind(SyntaxKind.PartialKeyword)) partial = true;
            }
            if (!partial) return false;
        }
        return type.DeclaringSyntaxReferences.Length > 0;
    }

    /// <summary>Namespace of <paramref name="type"/>, empty for the global namespace.</summary>
    public static string NamespaceOf(INamedTypeSymbol type) =>
        type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() : "";

    /// <summary>The accessibility keywords of <paramref name="type"/>.</summary>
    public static string AccessibilityOf(INamedTypeSymbol type) => type.DeclaredAccessibility switch
    {
        Accessibility.Public => "public",
        Accessibility.Internal => "internal",
        Accessibility.Private => "private",
        Accessibility.Protected => "protected",
        Accessibility.ProtectedOrInternal => "protected internal",
        Accessibility.ProtectedAndInternal => "private protected",
        _ => "internal",
    };

    /// <summary>The integer behind an enum or integer constant argument, if it is one.</summary>
    public static int? IntOf(TypedConstant constant) =>
        constant.Kind is TypedConstantKind.Enum or TypedConstantKind.Primitive && constant.Value is int value ? value : null;
}
