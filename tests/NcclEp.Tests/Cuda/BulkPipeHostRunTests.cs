using System;
using System.Diagnostics;
using System.IO;
using NcclEp.Cuda;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// The pipe of the HT bulk copies (ep_bulk.cuh, as embedded in NcclEp.dll) compiled by g++ and run against a model of the
/// copy engine (bulk_pipe_model.h) that lands loads and performs stores late and in random order: no stage reused
/// before its store has read it, no flag released before its rows are written and fenced, every row in place after the
/// drain (bulk_pipe_host_run.cpp). The pipe has never run on a GPU; this is what checks its accounting until one does,
/// and the mutants below show each rule is checked.
/// </summary>
public sealed class BulkPipeHostRunTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "ncclep-bulk-pipe-" + Guid.NewGuid().ToString("N"));

    public BulkPipeHostRunTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [GxxTheory]
    [InlineData(1, "")]                                                                                        // expert-major fan-out, the shipped sizes
    [InlineData(0, "")]                                                                                        // one destination a row
    [InlineData(1, "-DBULK_STAGES=2 -DBULK_STAGE_BYTES=64 -DBULK_FLAGS=2 -DBULK_FLAG_LAG=1")]                  // tiny: full stages and a full flag queue all the time
    [InlineData(0, "-DBULK_STAGES=3 -DBULK_STAGE_BYTES=48 -DBULK_FLAGS=3 -DBULK_FLAG_LAG=7")]                  // a lag past the wait's largest count
    public void Pipe_keeps_every_rule_of_the_copy_engine_model(int layout, string defines)
    {
        (int exit, string output) = BuildAndRun(KernelFile("ep_bulk.cuh"), layout, defines, seed: 11, trials: 400);
        Assert.True(exit == 0, output);
        Assert.Contains("ok 400", output, StringComparison.Ordinal);
    }

    /// <summary>Each mutant breaks one rule the pipe must keep; the run must say which.</summary>
    [GxxTheory]
    [InlineData("bulk_wait_groups<true>(pipe.stored - 1 - (i - BULK_STAGES));", "bulk_wait_groups<true, BULK_STAGES - 1>();", "before a store from it had read it")]
    [InlineData("if (i - pipe.stored == BULK_STAGES) bulk_store_oldest<true>(pipe);", "", "before its last load landed")]
    [InlineData("if (pipe.completed < mark) {", "if (false) {", "before every row it publishes was in place")]
    [InlineData("pipe.completed = pipe.stored - BULK_FLAG_LAG;", "pipe.completed = pipe.stored;", "before every row it publishes was in place")]
    [InlineData("bulk_proxy_fence();  // the rows were written", "// the rows were written", "without a proxy fence")]
    public void Model_catches_a_pipe_that_breaks_a_rule(string original, string mutant, string expected)
    {
        string source = KernelFile("ep_bulk.cuh");
        Assert.Contains(original, source, StringComparison.Ordinal);  // the mutant still applies to today's pipe

        (int exit, string output) = BuildAndRun(source.Replace(original, mutant, StringComparison.Ordinal), 1, "", seed: 11, trials: 400);

        Assert.NotEqual(0, exit);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    private static string KernelFile(string name)
    {
        using Stream stream = typeof(KernelSource).Assembly.GetManifestResourceStream("NcclEp.Kernels." + name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private (int Exit, string Output) BuildAndRun(string bulkHeader, int layout, string defines, int seed, int trials)
    {
        foreach (string name in new[] { "cuda_host_shim.h", "bulk_pipe_model.h", "bulk_pipe_host_run.cpp" })
            File.Copy(Path.Combine(AppContext.BaseDirectory, "Cuda", name), Path.Combine(_folder, name), overwrite: true);
        File.WriteAllText(Path.Combine(_folder, "ep_common.cuh"), KernelFile("ep_common.cuh"));
        File.WriteAllText(Path.Combine(_folder, "ep_bulk.cuh"), bulkHeader);
        string program = Path.Combine(_folder, "bulk_pipe");
        string arguments = $"-std=c++17 -O1 -DNCCLEP_MODE=1 -DNCCLEP_LAYOUT={layout} -DNCCLEP_HIDDEN=1024 -DNCCLEP_TOPK=8 -DNCCLEP_DTYPE=0 " +
                           $"-DNCCLEP_HT_BULK=7 {defines} -I \"{_folder}\" -o \"{program}\" \"{Path.Combine(_folder, "bulk_pipe_host_run.cpp")}\"";
        (int exit, string errors) = KernelSyntaxTests.Run("g++", arguments);
        Assert.True(exit == 0, $"g++ {arguments}\n{errors}");
        return RunWithTimeout(program, $"{seed} {trials}", TimeSpan.FromSeconds(60));
    }

    private static (int Exit, string Output) RunWithTimeout(string program, string arguments, TimeSpan limit)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardError = true, RedirectStandardOutput = true };
        using Process process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{program} {arguments}: no answer in {limit.TotalSeconds} s (a wait that never ends)");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
