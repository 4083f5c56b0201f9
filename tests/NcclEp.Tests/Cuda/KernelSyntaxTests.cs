using System;
using System.Diagnostics;
using System.IO;
using System.Text.RegularExpressions;
using NcclEp.Cuda;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// CI has no GPU, so a typo in a kernel would first show on a GPU machine. This compiles the joined kernel source
/// (exactly what NVRTC gets) with the host C++ compiler against <c>cuda_host_shim.h</c>, for every (mode, layout, dtype)
/// specialization and the bulk-copy builds: names, types and syntax, not PTX semantics; and no local variable may hide
/// a parameter of its function (g++ -Wshadow=local), which NVRTC never reports. <see cref="NvrtcKernelTableTests"/>
/// compiles the same source with NVRTC where one loads (CI installs it); this check also runs where none does.
/// </summary>
public sealed class KernelSyntaxTests
{
    [GxxTheory]
    [InlineData(0, 0, 0, 7168, 8)]
    [InlineData(0, 1, 0, 7168, 8)]
    [InlineData(0, 2, 0, 7168, 8)]
    [InlineData(1, 0, 0, 4096, 4)]
    [InlineData(1, 1, 0, 2048, 1)]
    [InlineData(1, 2, 1, 1024, 22)]
    [InlineData(0, 1, 1, 512, 32)]
    [InlineData(0, 1, 0, 7168, 8, "-DNCCLEP_QUANT=1")]  // the FP8 recipes (ep_fp8.cuh)
    [InlineData(0, 2, 1, 1024, 3, "-DNCCLEP_QUANT=2")]
    [InlineData(1, 0, 0, 4096, 8, "-DNCCLEP_QUANT=3")]
    [InlineData(1, 1, 1, 2048, 22, "-DNCCLEP_QUANT=3")]
    [InlineData(1, 0, 0, 4096, 8, "-DNCCLEP_BLOCK_TIMELINE=1")]  // the debugging switch (ep_common.cuh)
    [InlineData(1, 1, 0, 4096, 8, "-DNCCLEP_BLOCK_TIMELINE=1")]
    [InlineData(0, 1, 0, 7168, 8, "-DNCCLEP_COMBINE_PER_RANK=1")]  // expert-major per-rank combine partials
    [InlineData(1, 1, 1, 2048, 22, "-DNCCLEP_COMBINE_PER_RANK=1")]
    [InlineData(1, 0, 0, 4096, 8, "-DNCCLEP_HT_BULK=7")]  // the HT bulk copies (ep_bulk.cuh), every side
    [InlineData(1, 1, 0, 4096, 8, "-DNCCLEP_HT_BULK=7")]
    [InlineData(1, 1, 1, 2048, 22, "-DNCCLEP_HT_BULK=7 -DNCCLEP_COMBINE_PER_RANK=1 -DNCCLEP_QUANT=3")]
    public void Kernel_source_compiles_with_the_host_shim_and_no_local_hides_a_parameter(int mode, int layout, int dtype, int hidden, int topK, string defines = "")
    {
        string folder = Path.Combine(Path.GetTempPath(), "ncclep-kernel-syntax-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, "Cuda", "cuda_host_shim.h"), Path.Combine(folder, "cuda_host_shim.h"));
            // Dynamic shared arrays have no host equivalent: give them one element.
            string source = Regex.Replace(KernelSource.Text, @"extern __shared__ (\w+) (\w+)\[\]", "static $1 $2[1]");
            string file = Path.Combine(folder, "kernels.cpp");
            File.WriteAllText(file, "#include \"cuda_host_shim.h\"\n" + source);

            string arguments = $"-std=c++17 -fsyntax-only -Wno-unknown-pragmas -Wshadow=local -I \"{folder}\" -DNCCLEP_MODE={mode} " +
                $"-DNCCLEP_LAYOUT={layout} -DNCCLEP_HIDDEN={hidden} -DNCCLEP_TOPK={topK} -DNCCLEP_DTYPE={dtype} {defines} -x c++ \"{file}\"";
            (int exit, string errors) = Run("g++", arguments);
            Assert.True(exit == 0, $"g++ {arguments}\n{errors}");
            // A local that hides a parameter of its function: receive_message's bulk flag `row` was hidden so by the
            // landing row's pointer, and the warps copied every row the pipe copied too.
            Assert.False(errors.Contains("shadows a parameter", StringComparison.Ordinal), $"g++ {arguments}\n{errors}");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    internal static (int Exit, string Errors) Run(string program, string arguments)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardError = true, RedirectStandardOutput = true };
        using Process process = Process.Start(start)!;
        string errors = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, errors);
    }
}

/// <summary>A theory that is skipped, with the reason, where no g++ is on the PATH.</summary>
public sealed class GxxTheoryAttribute : TheoryAttribute
{
    private static readonly Lazy<bool> Found = new(() =>
    {
        try
        {
            return KernelSyntaxTests.Run("g++", "--version").Exit == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    });

    public GxxTheoryAttribute()
    {
        if (!Found.Value) Skip = "g++ is not on the PATH: the host syntax check of the kernels needs it";
    }
}
