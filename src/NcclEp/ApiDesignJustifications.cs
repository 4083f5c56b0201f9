namespace NcclEp;

/// <summary>Why the public API keeps a shape an API-design analyzer questions (used in its suppressions).</summary>
internal static class ApiDesignJustifications
{
    /// <summary>RS0026 on overloads that each end in optional parameters.</summary>
    public const string OverloadsDifferInRequiredParameters =
        "The overloads differ in their required parameters (count or type), so no call binds to more than one; the optional ones (stream, pass, options) stay last in each.";
}
