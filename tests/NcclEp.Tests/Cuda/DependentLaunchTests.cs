using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using NcclEp.Cuda;
using NcclEp.Interop;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// Programmatic dependent launch (<see cref="DependentLaunch"/>, NCCLEP_PDL=1): the launch structs are cuda.h's, and every
/// data-path kernel waits for the previous kernel (griddepcontrol.wait) before anything else, which is what keeps the
/// protocol's "kernel n started implies kernel n − 1 ended" (docs/kernels.md) true for a kernel launched early.
/// </summary>
public sealed class DependentLaunchTests
{
    [Fact]
    public void Launch_structs_have_cuda_h_layout()
    {
        // CUlaunchAttribute: id, 4 bytes of padding, a 64-byte union; CUlaunchConfig: 7 uints, padding, stream, attrs, numAttrs.
        Assert.Equal(72, Unsafe.SizeOf<CuLaunchAttribute>());
        Assert.Equal(8, (int)Marshal.OffsetOf<CuLaunchAttribute>(nameof(CuLaunchAttribute.Value)));
        Assert.Equal(56, Unsafe.SizeOf<CuLaunchConfig>());
        Assert.Equal(24, (int)Marshal.OffsetOf<CuLaunchConfig>(nameof(CuLaunchConfig.SharedMemBytes)));
        Assert.Equal(32, (int)Marshal.OffsetOf<CuLaunchConfig>(nameof(CuLaunchConfig.Stream)));
        Assert.Equal(40, (int)Marshal.OffsetOf<CuLaunchConfig>(nameof(CuLaunchConfig.Attributes)));
        Assert.Equal(48, (int)Marshal.OffsetOf<CuLaunchConfig>(nameof(CuLaunchConfig.AttributeCount)));
        Assert.Equal(6, (int)CuLaunchAttributeId.ProgrammaticStreamSerialization);
    }

    [Theory]
    [InlineData("ncclep_update")]
    [InlineData("ncclep_update_offsets")]
    [InlineData("ncclep_combine")]
    [InlineData("ncclep_dispatch")]
    [InlineData("ncclep_dispatch_fp8")]
    public void Every_data_path_kernel_waits_for_the_previous_kernel_first(string kernel)
    {
        string body = FirstStatement(KernelSource.Text, $@"extern ""C"" __global__ void __launch_bounds__\(NCCLEP_THREADS(?:, NCCLEP_BLOCKS_PER_SM)?\) {kernel}\(const EpParams p\)");
        if (body.StartsWith("extern __shared__", System.StringComparison.Ordinal))
        {
            // The dispatch kernels declare their shared memory, then run dispatch_route, which must wait first.
            Assert.Matches(@"^dispatch_route<(true|false)>\(p, shared( \+ [^;]*)?\);$", SecondStatement(KernelSource.Text, kernel));
            body = FirstStatement(KernelSource.Text, @"__device__ __forceinline__ void dispatch_route\(const EpParams& p, int\* shared\)");
        }
        Assert.Equal("wait_for_previous_kernel();", body);
    }

    private static string FirstStatement(string source, string signature)
    {
        Match m = Regex.Match(source, signature + @"\s*\{\s*([^;]*;)");
        Assert.True(m.Success, $"no definition matching {signature} in the kernel source");
        return m.Groups[1].Value.Trim();
    }

    private static string SecondStatement(string source, string kernel)
    {
        Match m = Regex.Match(source, $@"{kernel}\(const EpParams p\)\s*\{{\s*[^;]*;\s*([^;]*;)");
        Assert.True(m.Success, $"no second statement in {kernel}");
        return m.Groups[1].Value.Trim();
    }
}
