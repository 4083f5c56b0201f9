namespace NcclEp.Generators;

/// <summary>Metadata names and enum values of the library that the generators and analyzers read.</summary>
internal static class KnownNames
{
    public const string TokenViewAttribute = "NcclEp.EpTokenViewAttribute";
    public const string MetadataViewAttribute = "NcclEp.EpMetadataViewAttribute";
    public const string LaunchStubsAttribute = "NcclEp.EpSpecializationAttribute";
    public const string EpConfig = "NcclEp.EpConfig";

    /// <summary><c>EpMode</c> member names by value.</summary>
    public static readonly string[] Modes = { "LowLatency", "HighThroughput" };

    /// <summary><c>EpLayout</c> member names by value.</summary>
    public static readonly string[] Layouts = { "Flat", "ExpertMajor", "RankMajor" };

    /// <summary><c>EpDataType</c> member names by value.</summary>
    public static readonly string[] DataTypes = { "BFloat16", "Float32", "Int32", "Float8E4M3", "PackedUE8M0" };

    public const int LowLatency = 0;
    public const int HighThroughput = 1;
    public const int Flat = 0;
    public const int ExpertMajor = 1;
    public const int RankMajor = 2;
    public const int BFloat16 = 0;
    public const int Float32 = 1;
    public const int Int32 = 2;
    public const int Float8E4M3 = 3;
    public const int PackedUE8M0 = 4;

    /// <summary>Mirrors <c>EpConfig.IsLayoutValid</c>.</summary>
    public static bool IsLayoutValid(int mode, int layout) => mode switch
    {
        LowLatency => layout is ExpertMajor or RankMajor,
        HighThroughput => layout is Flat or ExpertMajor,
        _ => false,
    };

    /// <summary>Whether <paramref name="layout"/> is the dispatch output of at least one mode.</summary>
    public static bool IsKnownLayout(int layout) => IsLayoutValid(LowLatency, layout) || IsLayoutValid(HighThroughput, layout);

    /// <summary>The member name of an enum value, or the number where it has none.</summary>
    public static string NameOf(string[] names, int value) =>
        value >= 0 && value < names.Length ? names[value] : value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
