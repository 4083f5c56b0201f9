using System.Runtime.InteropServices;

namespace NcclEp.Interop;

// CUDA Graphs (cuGraphExecUpdate_v2 with its result-info struct).
internal static unsafe partial class CudaDriver
{
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuGraphDestroy(nint graph);

    /// <summary>Lists a graph's nodes: with <paramref name="nodes"/> null it only writes the count.</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuGraphGetNodes(nint graph, nint* nodes, nuint* count);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuGraphInstantiateWithFlags(out nint graphExec, nint graph, CuGraphInstantiateFlags flags);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuGraphExecDestroy(nint graphExec);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuGraphLaunch(nint graphExec, nint stream);

    [LibraryImport(LibraryName)]
    internal static partial CuResult cuGraphUpload(nint graphExec, nint stream);

    /// <summary>Updates an instantiated graph in place from a graph of the same topology.</summary>
    [LibraryImport(LibraryName)]
    internal static partial CuResult cuGraphExecUpdate_v2(nint graphExec, nint graph, out CuGraphExecUpdateResultInfo resultInfo);
}
