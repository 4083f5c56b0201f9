using System;
using System.IO;
using NcclEp.Cuda;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// NCCLEP_KERNEL_SOURCE_DIR lets kernel work on a GPU machine swap the kernel files without a rebuild (and run two
/// variants side by side); the joined source must then be exactly what that directory holds, and a process that runs
/// kernels other than the shipped ones must say so.
/// </summary>
public sealed class KernelSourceTests : IDisposable
{
    private static readonly string[] Files = ["ep_common.cuh", "ep_fp8_rule.cuh", "ep_fp8.cuh", "ep_route.cuh", "ep_bulk_ptx.cuh", "ep_bulk.cuh", "ep_update.cu", "ep_dispatch.cu", "ep_dispatch_receive.cu", "ep_forward.cu", "ep_combine.cu", "ep_combine_reduce.cu", "ep_queue_probe.cu"];
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"ncclep-kernels-{Guid.NewGuid():N}");

    public KernelSourceTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void No_directory_joins_the_embedded_sources()
    {
        Assert.Equal(KernelSource.Join(null), KernelSource.Join(string.Empty));
        Assert.Contains("ncclep_combine", KernelSource.Join(null), StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_replaces_the_embedded_sources_and_is_joined_the_same_way()
    {
        foreach (string file in Files) File.WriteAllText(Path.Combine(_directory, file), $"// {file}\n");
        File.AppendAllText(Path.Combine(_directory, "ep_combine.cu"), "#include \"ep_common.cuh\"\n__global__ void variant_marker() {}\n");
        File.AppendAllText(Path.Combine(_directory, "ep_dispatch.cu"), "#include \"ep_fp8.cuh\"\n");

        string joined = KernelSource.Join(_directory);

        Assert.Contains("variant_marker", joined, StringComparison.Ordinal);
        Assert.DoesNotContain("#include \"ep_common.cuh\"", joined, StringComparison.Ordinal);
        Assert.DoesNotContain("#include \"ep_fp8.cuh\"", joined, StringComparison.Ordinal);
        Assert.True(joined.IndexOf("// ep_common.cuh", StringComparison.Ordinal) < joined.IndexOf("// ep_fp8.cuh", StringComparison.Ordinal));
        Assert.True(joined.IndexOf("// ep_fp8.cuh", StringComparison.Ordinal) < joined.IndexOf("// ep_update.cu", StringComparison.Ordinal));
        Assert.DoesNotContain("ncclep_combine", joined, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_missing_a_file_is_refused_naming_the_file_and_the_variable()
    {
        foreach (string file in Files[..6]) File.WriteAllText(Path.Combine(_directory, file), "// x\n");

        FileNotFoundException e = Assert.Throws<FileNotFoundException>(() => KernelSource.Join(_directory));

        Assert.Contains("ep_combine.cu", e.Message, StringComparison.Ordinal);
        Assert.Contains(KernelSource.DirectoryVariable, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_in_force_is_announced_naming_the_variable_and_the_directory()
    {
        foreach (string file in Files) File.WriteAllText(Path.Combine(_directory, file), $"// {file}\n");
        using var log = new StringWriter();

        string joined = KernelSource.Load(_directory, log);

        Assert.Equal(KernelSource.Join(_directory), joined);
        string announcement = log.ToString();
        Assert.Single(announcement.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"{KernelSource.DirectoryVariable}={_directory}", announcement, StringComparison.Ordinal);
        Assert.Contains("instead of the ones built into NcclEp.dll", announcement, StringComparison.Ordinal);
    }

    [Fact]
    public void The_embedded_sources_are_loaded_without_a_word()
    {
        using var log = new StringWriter();

        Assert.Equal(KernelSource.Join(null), KernelSource.Load(null, log));
        Assert.Equal(KernelSource.Join(null), KernelSource.Load(string.Empty, log));
        Assert.Equal(string.Empty, log.ToString());
    }
}
