using System;

namespace NcclEp;

/// <summary>
/// Makes the view generator complete a non-generic <c>readonly ref partial struct</c> as a typed view of routing
/// metadata: <see cref="EpDataType.Int32"/> or <see cref="EpDataType.Float32"/> elements, or records of them.
/// </summary>
/// <remarks>
/// Each dimension is <c>"Property:index"</c>, outermost first. With <see cref="Record"/> set, the descriptor has
/// one more, contiguous, dimension whose length is the record's field count, and the indexer returns the record.
/// </remarks>
[AttributeUsage(AttributeTargets.Struct, AllowMultiple = false, Inherited = false)]
internal sealed class EpMetadataViewAttribute : Attribute
{
    public EpMetadataViewAttribute(EpDataType dataType, params string[] dimensions)
    {
        DataType = dataType;
        Dimensions = dimensions;
    }

    /// <summary>Element type of the descriptor.</summary>
    public EpDataType DataType { get; }

    /// <summary>The dimensions, outermost first, as <c>"Property:index"</c>.</summary>
    public string[] Dimensions { get; }

    /// <summary>A struct made only of <see cref="DataType"/> fields that one innermost row is read as.</summary>
    public Type? Record { get; set; }

    /// <summary>First sentence of the generated doc comment (XML doc text).</summary>
    public string? Summary { get; set; }
}
