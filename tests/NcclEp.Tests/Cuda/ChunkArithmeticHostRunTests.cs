using System;
using System.Globalization;
using System.IO;
using NcclEp.Backend;
using NcclEp.Cuda;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// The kernels' chunk arithmetic (chunk_count, chunk_begin, chunk_of in ep_common.cuh, as embedded in NcclEp.dll)
/// compiled by g++ against the host shim and run beside the Host backend's <see cref="MessageChunks"/>: both backends
/// must cut a block of messages into the same chunks, so that they release and wait for the same flags
/// (docs/kernels.md, "Protocol and memory ordering"). Low latency is one message per chunk (warp jobs), high throughput
/// 16; both are cut at <see cref="WindowLayout.Chunks"/> chunks.
/// </summary>
public sealed class ChunkArithmeticHostRunTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "ncclep-chunks-" + Guid.NewGuid().ToString("N"));

    public ChunkArithmeticHostRunTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    // For n in [0, limit): n, chunk_count(n), then each chunk's begin and, for every message, its chunk.
    private const string Harness = """
        #include "cuda_host_shim.h"
        #include "ep_common.cuh"
        #include <cstdio>
        #include <cstdlib>
        int main(int argc, char** argv) {
            const int limit = std::atoi(argv[1]);
            FILE* out = std::fopen(argv[2], "w");
            for (int n = 0; n < limit; n++) {
                const int m = chunk_count(n);
                std::fprintf(out, "%d %d", n, m);
                for (int c = 0; c <= m; c++) std::fprintf(out, " %d", chunk_begin(n, c));
                for (int x = 0; x < n; x++) std::fprintf(out, " %d", chunk_of(n, x));
                std::fprintf(out, "\n");
            }
            std::fclose(out);
            return 0;
        }
        """;

    [GxxTheory]
    [InlineData(EpMode.LowLatency)]
    [InlineData(EpMode.HighThroughput)]
    public void Kernel_chunks_are_the_host_backends_chunks(EpMode mode)
    {
        const int limit = 5000;  // past 256 chunks of one message and of 16
        var chunks = new MessageChunks(mode);
        string[] lines = Run(mode, limit);
        Assert.Equal(limit, lines.Length);
        for (int n = 0; n < limit; n++)
        {
            int[] got = Array.ConvertAll(lines[n].Split(' ', StringSplitOptions.RemoveEmptyEntries), s => int.Parse(s, CultureInfo.InvariantCulture));
            int count = chunks.Count(n);
            Assert.True(got[0] == n && got[1] == count, $"{mode}: {n} messages are {got[1]} chunks in the kernels, {count} on the Host backend");
            for (int c = 0; c <= count; c++)
                Assert.True(got[2 + c] == chunks.Begin(n, c), $"{mode}: chunk {c} of {n} messages begins at {got[2 + c]} in the kernels, {chunks.Begin(n, c)} on the Host backend");
            for (int x = 0; x < n; x++)
            {
                int c = got[3 + count + x];
                Assert.True(chunks.Begin(n, c) <= x && x < chunks.Begin(n, c + 1), $"{mode}: the kernels put message {x} of {n} in chunk {c}, which the Host backend makes [{chunks.Begin(n, c)}, {chunks.Begin(n, c + 1)})");
            }
        }
        if (mode == EpMode.LowLatency) Assert.Equal(WindowLayout.Chunks, chunks.Count(WindowLayout.Chunks));  // one message each up to the last flag
    }

    private string[] Run(EpMode mode, int limit)
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Cuda", "cuda_host_shim.h"), Path.Combine(_folder, "cuda_host_shim.h"), overwrite: true);
        using (Stream common = typeof(KernelSource).Assembly.GetManifestResourceStream("NcclEp.Kernels.ep_common.cuh")!)
        using (FileStream file = File.Create(Path.Combine(_folder, "ep_common.cuh")))
            common.CopyTo(file);
        string source = Path.Combine(_folder, "harness.cpp"), program = Path.Combine(_folder, "chunks");
        File.WriteAllText(source, Harness);
        int modeDefine = mode == EpMode.LowLatency ? 0 : 1;
        string arguments = $"-std=c++17 -O1 -DNCCLEP_MODE={modeDefine} -DNCCLEP_LAYOUT=0 -DNCCLEP_HIDDEN=1024 -DNCCLEP_TOPK=8 -DNCCLEP_DTYPE=0 -I \"{_folder}\" -o \"{program}\" \"{source}\"";
        (int exit, string errors) = KernelSyntaxTests.Run("g++", arguments);
        Assert.True(exit == 0, $"g++ {arguments}\n{errors}");
        string output = Path.Combine(_folder, "out.txt");
        (exit, errors) = KernelSyntaxTests.Run(program, $"{limit} \"{output}\"");
        Assert.True(exit == 0, $"{program}: {errors}");
        return File.ReadAllLines(output);
    }
}
