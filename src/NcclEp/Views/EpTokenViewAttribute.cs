using System;

namespace NcclEp;

/// <summary>
/// Makes the view generator complete a <c>readonly ref partial struct Name&lt;T&gt; where T : unmanaged</c> as a
/// typed view of token rows in <see cref="Layout"/>.
/// </summary>
/// <remarks>
/// Each dimension is <c>"Property:index"</c>: the property that returns its length and the indexer parameter,
/// outermost first; the last dimension is the contiguous row (<c>"Hidden:element"</c>).
/// </remarks>
[AttributeUsage(AttributeTargets.Struct, AllowMultiple = false, Inherited = false)]
internal sealed class EpTokenViewAttribute : Attribute
{
    public EpTokenViewAttribute(EpLayout layout, params string[] dimensions)
    {
        Layout = layout;
        Dimensions = dimensions;
    }

    /// <summary>The layout whose rows the view shows.</summary>
    public EpLayout Layout { get; }

    /// <summary>The dimensions, outermost first, as <c>"Property:index"</c>.</summary>
    public string[] Dimensions { get; }

    /// <summary>First sentence of the generated doc comment (XML doc text).</summary>
    public string? Summary { get; set; }
}
