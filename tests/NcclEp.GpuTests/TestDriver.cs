using System.Runtime.InteropServices;

namespace NcclEp.GpuTests;

/// <summary>The driver calls only this program makes (the library's bindings are for what the library itself calls).</summary>
internal static partial class TestDriver
{
    private const string Library = "libcuda.so.1";

    [LibraryImport(Library)]
    internal static partial NcclEp.Interop.CuResult cuFuncGetModule(out nint module, nint function);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial NcclEp.Interop.CuResult cuModuleGetGlobal_v2(out nint devicePointer, out nuint bytes, nint module, string name);
}
