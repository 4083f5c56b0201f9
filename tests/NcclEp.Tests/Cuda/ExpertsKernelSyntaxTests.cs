using System;
using System.IO;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// The test experts' GPU kernel (tests/NcclEp.Testing/Experts/Kernels/affine_experts.cu, run between dispatch and
/// combine by the bench and the GPU test program) is JIT-compiled on the GPU machine only; this checks it with the
/// host compiler and <c>cuda_host_shim.h</c> for every layout, mode and data type, as <see cref="KernelSyntaxTests"/>
/// does for the library's kernels. <see cref="ExpertsKernelRunTests"/> also runs it on the host.
/// </summary>
public sealed class ExpertsKernelSyntaxTests
{
    [GxxTheory]
    [InlineData(0, 1, 0, 7168, 8)]   // flat, HT, bf16
    [InlineData(1, 1, 0, 7168, 8)]   // expert-major, HT (packed segments)
    [InlineData(1, 0, 0, 2048, 4)]   // expert-major, LL (3-D)
    [InlineData(2, 0, 1, 1024, 22)]  // rank-major, LL, fp32
    [InlineData(0, 1, 1, 512, 1)]    // flat, fp32
    public void Affine_experts_compile_with_the_host_shim(int layout, int mode, int dtype, int hidden, int topK)
    {
        string folder = Path.Combine(Path.GetTempPath(), "ncclep-experts-kernel-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, "Cuda", "cuda_host_shim.h"), Path.Combine(folder, "cuda_host_shim.h"));
            string source = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestKernels", "affine_experts.cu"));
            Assert.Contains("extern \"C\" __global__ void affine_experts(", source, StringComparison.Ordinal);
            string file = Path.Combine(folder, "affine_experts.cpp");
            File.WriteAllText(file, "#include \"cuda_host_shim.h\"\n" + source);

            string arguments = $"-std=c++17 -fsyntax-only -Wno-unknown-pragmas -I \"{folder}\" -DLAYOUT={layout} -DMODE={mode} " +
                $"-DDTYPE={dtype} -DHIDDEN={hidden} -DTOPK={topK} -x c++ \"{file}\"";
            (int exit, string errors) = KernelSyntaxTests.Run("g++", arguments);
            Assert.True(exit == 0, $"g++ {arguments}\n{errors}");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
