namespace NcclEp.Generators;

/// <summary>Names of the tracked pipeline steps (the incrementality tests look them up).</summary>
internal static class TrackingNames
{
    /// <summary>Models of <c>[EpTokenView]</c> structs.</summary>
    public const string TokenViews = nameof(TokenViews);

    /// <summary>Models of <c>[EpMetadataView]</c> structs.</summary>
    public const string MetadataViews = nameof(MetadataViews);

    /// <summary>Models of <c>[EpSpecialization]</c> classes.</summary>
    public const string LaunchStubs = nameof(LaunchStubs);

    /// <summary>All stub models together: the router and the kernel table.</summary>
    public const string AllLaunchStubs = nameof(AllLaunchStubs);
}
