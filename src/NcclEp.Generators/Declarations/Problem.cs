using Microsoft.CodeAnalysis;

namespace NcclEp.Generators.Declarations;

/// <summary>
/// Something wrong with a declaration, found by the shared parse. The generators skip such a declaration;
/// the analyzers report it (at the attribute, or at the type name when <see cref="AtType"/>).
/// </summary>
internal readonly struct Problem
{
    public Problem(DiagnosticDescriptor descriptor, bool atType, params object[] args)
    {
        Descriptor = descriptor;
        AtType = atType;
        Args = args;
    }

    public DiagnosticDescriptor Descriptor { get; }

    public bool AtType { get; }

    public object[] Args { get; }
}
