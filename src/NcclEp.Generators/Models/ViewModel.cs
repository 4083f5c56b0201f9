using NcclEp.Generators.Helpers;

namespace NcclEp.Generators.Models;

/// <summary>One view struct to complete (a token view when <see cref="TypeParameter"/> is set).</summary>
/// <param name="Namespace">Namespace of the struct; empty for the global namespace.</param>
/// <param name="Accessibility">C# accessibility keyword(s) of the struct.</param>
/// <param name="TypeName">Name without type parameters.</param>
/// <param name="TypeParameter">The element type parameter of a token view; null for a metadata view.</param>
/// <param name="Layout">EpLayout value of a token view; -1 for a metadata view.</param>
/// <param name="DataType">EpDataType value of a metadata view; -1 for a token view (checked against T).</param>
/// <param name="ElementType">C# element type of the indexer (the type parameter, <c>int</c>, <c>float</c> or the record).</param>
/// <param name="Record">Record type name and its fields when the last tensor dimension is packed into one element.</param>
/// <param name="Summary">First sentence of the doc comment, as declared.</param>
/// <param name="Dimensions">Dimensions of the view, outermost first.</param>
internal sealed record ViewModel(
    string Namespace,
    string Accessibility,
    string TypeName,
    string? TypeParameter,
    int Layout,
    int DataType,
    string ElementType,
    RecordModel? Record,
    string Summary,
    EquatableArray<ViewDimension> Dimensions)
{
    /// <summary>Dimensions of the descriptor: one more than the view's for a record view.</summary>
    public int TensorRank => Dimensions.Length + (Record is null ? 0 : 1);

    /// <summary>Name used in hint names and crefs: <c>FlatTokens{T}</c>.</summary>
    public string HintName => TypeParameter is null ? TypeName : TypeName + "{" + TypeParameter + "}";
}

/// <summary>A dimension of a view: the property that returns its length and the indexer parameter.</summary>
internal sealed record ViewDimension(string Property, string Index);

/// <summary>A struct whose fields are <see cref="Width"/> scalars of the view's data type.</summary>
internal sealed record RecordModel(string TypeName, string FullName, int Width, EquatableArray<string> Fields);
