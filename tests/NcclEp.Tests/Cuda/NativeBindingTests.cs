using System;
using System.IO;
using NcclEp.Interop;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// Every binding is a <c>[LibraryImport]</c> that <see cref="NativeLibraryResolver"/> points at the library
/// <see cref="NativeLibraryLoader"/> found. On a machine without the library the first call must say which library,
/// what was tried and which variable points at another copy (not a bare DllNotFoundException); where it is installed
/// the call must work. CI installs NVRTC 12.4 (<c>libnvrtc.so.12</c>, which the loader finds by itself) and 11.8; where
/// only the 11.8 file is there, the NVRTC test points NCCLEP_NVRTC_PATH at it. Either way it compiles through the bindings.
/// </summary>
[Collection(NativeLibraryCollection.Name)]
public sealed class NativeBindingTests
{
    private const string InstalledNvrtc = "/usr/lib/x86_64-linux-gnu/libnvrtc.so.11.2";
    private static readonly string[] NvrtcSonames = [Nvrtc.LibraryName, "libnvrtc.so.12", "libnvrtc.so"];

    [Fact]
    public void A_driver_binding_loads_libcuda_or_says_why_it_cannot()
    {
        if (NativeLibrary(CudaDriver.LibraryName))
        {
            Assert.Equal(CuResult.Success, CudaDriver.cuDriverGetVersion(out int version));
            Assert.True(version > 0, $"cuDriverGetVersion gave {version}");
            return;
        }
        NativeLibraryMissingException e = Assert.Throws<NativeLibraryMissingException>(() => CudaDriver.cuDriverGetVersion(out _));
        Assert.Equal(CudaDriver.LibraryName, e.Library);
        Assert.Contains("Tried:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_nccl_binding_loads_nccl_or_names_the_override_variable()
    {
        if (NativeLibrary(Nccl.LibraryName))
        {
            Assert.Equal(NcclResult.Success, Nccl.ncclGetVersion(out int version));
            Assert.True(version >= 20000, $"ncclGetVersion gave {version}");
            return;
        }
        NativeLibraryMissingException e = Assert.Throws<NativeLibraryMissingException>(() => Nccl.ncclGetVersion(out _));
        Assert.Equal(Nccl.PathVariable, e.EnvironmentVariable);
        Assert.Contains(Nccl.PathVariable, e.Message, StringComparison.Ordinal);
        Assert.False(Nccl.TryLoad(out string reason));
        Assert.Contains(Nccl.LibraryName, reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Nvrtc_bindings_compile_a_kernel_to_a_cubin_and_report_a_compile_error_with_its_log()
    {
        string? before = Environment.GetEnvironmentVariable(Nvrtc.PathVariable);
        bool found = !string.IsNullOrEmpty(before) || Array.Exists(NvrtcSonames, NativeLibrary);
        bool useInstalled = !found && File.Exists(InstalledNvrtc);
        if (useInstalled) Environment.SetEnvironmentVariable(Nvrtc.PathVariable, InstalledNvrtc);
        try
        {
            string[] options = ["--gpu-architecture=sm_90"];
            if (!found && !useInstalled)
            {
                NativeLibraryMissingException missing = Assert.Throws<NativeLibraryMissingException>(() => NvrtcCompiler.Compile("", "none.cu", options, out _));
                Assert.Equal(Nvrtc.PathVariable, missing.EnvironmentVariable);
                return;
            }

            byte[] cubin = NvrtcCompiler.Compile("extern \"C\" __global__ void store(int* p) { *p = 7; }", "store.cu", options, out _);
            Assert.Equal("\u007fELF"u8.ToArray(), cubin[..4]);
            Assert.StartsWith("NVRTC ", NvrtcCompiler.VersionString, StringComparison.Ordinal);

            NvrtcCompileException e = Assert.Throws<NvrtcCompileException>(() =>
                NvrtcCompiler.Compile("extern \"C\" __global__ void broken(int* p) { *p = undeclared; }", "broken.cu", options, out _));
            Assert.Equal(NvrtcResult.ErrorCompilation, e.Status);
            Assert.Contains("undeclared", e.Log, StringComparison.Ordinal);
            Assert.Contains("broken.cu", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            if (useInstalled) Environment.SetEnvironmentVariable(Nvrtc.PathVariable, before);
        }
    }

    /// <summary>Whether the dynamic loader finds <paramref name="soname"/> by itself (the loader's first candidate).</summary>
    private static bool NativeLibrary(string soname)
    {
        if (!System.Runtime.InteropServices.NativeLibrary.TryLoad(soname, out nint handle)) return false;
        System.Runtime.InteropServices.NativeLibrary.Free(handle);
        return true;
    }
}

/// <summary>Tests that load native libraries process-wide (and may set their override variable) run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeLibraryCollection
{
    public const string Name = "native libraries";
}
