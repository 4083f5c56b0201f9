using NcclEp.Generators.Helpers;

namespace NcclEp.Generators.Models;

/// <summary>The stubs of one (mode, layout): a nested static class to complete with Update, Dispatch and Combine.</summary>
/// <param name="Namespace">Namespace of the containing class; empty for the global namespace.</param>
/// <param name="Container">The static partial class the router is generated into.</param>
/// <param name="ClassName">The nested class that receives the stubs.</param>
/// <param name="Mode">EpMode value.</param>
/// <param name="Layout">EpLayout value.</param>
/// <param name="UpdateKernel">CUDA entry point launched by Update.</param>
/// <param name="DispatchKernel">CUDA entry point launched by Dispatch.</param>
/// <param name="CombineKernel">CUDA entry point launched by Combine.</param>
/// <param name="Rows">Dimensions of the layout-side rows tensor (dispatch output, combine input).</param>
/// <param name="QuantizedDispatchKernel">CUDA entry point launched by the FP8 dispatch; empty when the class has none.</param>
internal sealed record LaunchStubModel(
    string Namespace,
    string Container,
    string ClassName,
    int Mode,
    int Layout,
    string UpdateKernel,
    string DispatchKernel,
    string CombineKernel,
    EquatableArray<RowDimension> Rows,
    string QuantizedDispatchKernel = "")
{
    /// <summary>Whether the class gets the FP8 dispatch stub (<c>DispatchQuantized</c>) and its kernel-table entry.</summary>
    public bool HasQuantizedDispatch => QuantizedDispatchKernel.Length != 0;

    public string ModeName => KnownNames.NameOf(KnownNames.Modes, Mode);

    public string LayoutName => KnownNames.NameOf(KnownNames.Layouts, Layout);
}

/// <summary>
/// One dimension of a rows tensor: the C# expression over <c>EpShapes s</c> that gives its length, the
/// meaning quoted in the error message, and whether the length is a lower bound.
/// </summary>
internal sealed record RowDimension(string Source, string Expression, string Meaning, bool AtLeast);
