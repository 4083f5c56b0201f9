using Microsoft.CodeAnalysis;

namespace NcclEp.Generators.Diagnostics;

/// <summary>Every diagnostic of NcclEp's analyzers (IDs <c>NCEP0001</c>…; see AnalyzerReleases.*.md).</summary>
internal static class DiagnosticDescriptors
{
    private const string Config = "NcclEp.Config";
    private const string Generator = "NcclEp.Generator";

    /// <summary>A layout that is not a dispatch output of the mode.</summary>
    public static readonly DiagnosticDescriptor LayoutNotValidForMode = new(
        "NCEP0001",
        "Layout not valid for mode",
        "Layout {0} is not valid for mode {1}: low latency takes ExpertMajor or RankMajor, high throughput takes Flat or ExpertMajor",
        Config,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>A constant top-k outside 1..32.</summary>
    public static readonly DiagnosticDescriptor TopKOutOfRange = new(
        "NCEP0002",
        "TopK out of range",
        "TopK = {0} is outside 1..32",
        Config,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true);

    /// <summary>A constant hidden size the kernels do not serve.</summary>
    public static readonly DiagnosticDescriptor HiddenNotSupported = new(
        "NCEP0003",
        "Hidden size not supported",
        "Hidden = {0} is not a multiple of 128 from 512 to 16384",
        Config,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true);

    /// <summary>A constant element type that token rows cannot have.</summary>
    public static readonly DiagnosticDescriptor UnsupportedTokenDataType = new(
        "NCEP0004",
        "Unsupported token data type",
        "Token rows must be BFloat16 or Float32, not {0}",
        Config,
        DiagnosticSeverity.Warning,
        isEnabledByDefault: true);

    /// <summary>A token view declared for a layout that no mode produces.</summary>
    public static readonly DiagnosticDescriptor ViewLayoutUnknown = new(
        "NCEP0005",
        "View declared for an unknown layout",
        "Token view '{0}' is declared for layout {1}, which is the dispatch output of no mode",
        Generator,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>A generator attribute on a declaration that is not partial.</summary>
    public static readonly DiagnosticDescriptor TargetNotPartial = new(
        "NCEP0006",
        "Generator attribute target must be partial",
        "'{0}' must be declared partial for [{1}] to complete it",
        Generator,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>A dimension string of a generator attribute that does not parse.</summary>
    public static readonly DiagnosticDescriptor InvalidDimension = new(
        "NCEP0007",
        "Invalid dimension",
        "Dimension '{0}' of [{1}] on '{2}' is not valid: {3}",
        Generator,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);

    /// <summary>A generator attribute on a declaration of the wrong shape.</summary>
    public static readonly DiagnosticDescriptor InvalidTarget = new(
        "NCEP0008",
        "Invalid generator attribute target",
        "[{0}] cannot complete '{1}': {2}",
        Generator,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true);
}
