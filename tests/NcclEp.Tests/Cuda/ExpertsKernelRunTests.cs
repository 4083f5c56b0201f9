using System;
using System.Globalization;
using System.IO;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// No GPU here, so the test experts' kernel (affine_experts.cu) is compiled with the host compiler against
/// <c>cuda_host_run.h</c> (exact bit casts, one IEEE operation per <c>__fmul_rn</c>/<c>__fadd_rn</c>, no contraction)
/// and run over every (block, thread): on the rows a real Host-backend dispatch left (two ranks, pitched rows, spare
/// rows between 3-D blocks), forward and backward, its output must equal <see cref="HostAffineExperts"/>'s byte for
/// byte, rows not in use untouched included. What the GPU adds (NVRTC's code generation) is checked on a GPU only.
/// </summary>
public sealed class ExpertsKernelRunTests
{
    private const int World = 2, Grid = 5, Threads = 64;
    private const byte Poison = 0xA7;

    [GxxTheory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, EpDataType.BFloat16, 1)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, EpDataType.BFloat16, 4)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, EpDataType.Float32, 1)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, EpDataType.BFloat16, 1)]
    public void Kernel_run_on_the_host_writes_the_bits_of_the_host_experts(EpMode mode, EpLayout layout, EpDataType type, int alignment)
    {
        var config = new EpConfig(mode, NumExperts: 8, Hidden: 512, TopK: 3, MaxTokensPerRank: 6, layout, type, ExpertAlignment: alignment);
        string folder = Path.Combine(Path.GetTempPath(), "ncclep-experts-run-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        EpGroup[] groups = EpGroup.CreateHost(config, World);
        try
        {
            string program = Compile(folder, config);
            var rng = new Random(CaseGenerator.Seed((int)mode, (int)layout, (int)type));
            var batches = new RankBatch[World];
            for (int r = 0; r < World; r++) batches[r] = BatchGenerator.Uniform(rng, config, config.MaxTokensPerRank - r, RoutingStyle.Mixed);
            RankThreads.RunOnce(World, rank => RunRank(groups[rank], batches[rank], program, Path.Combine(folder, $"rank{rank}")), TimeSpan.FromMinutes(1));
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void RunRank(EpGroup g, RankBatch batch, string program, string folder)
    {
        Directory.CreateDirectory(folder);
        EpConfig c = g.Config;
        int es = c.DataType.SizeInBytes(), pitch = c.Hidden + 16, gap = c.Mode == EpMode.LowLatency ? 1 : 0;
        long blocks = c.Mode == EpMode.LowLatency ? (c.Layout == EpLayout.RankMajor ? World : g.LocalExperts) : 1;
        long blockRows = c.ReceiveRows(World) / blocks;
        long bytes = blocks * (blockRows + gap) * pitch * es;
        using EpHandle h = g.CreateHandle();
        using EpBuffer ids = g.AllocateBuffer(Math.Max(4, batch.Ids.Length * 4)), weights = g.AllocateBuffer(Math.Max(4, batch.Weights.Length * 4));
        using EpBuffer x = g.AllocateBuffer(Math.Max(16, batch.X.Length)), received = g.AllocateBuffer(bytes), output = g.AllocateBuffer(bytes);
        ids.Upload<int>(batch.Ids);
        weights.Upload<float>(batch.Weights);
        x.Upload<byte>(batch.X);
        received.Fill(0x3C);  // rows not in use hold finite values: a kernel that touched them would show
        EpTensor layout = c.Mode == EpMode.LowLatency
            ? EpTensor.Create3D(received.Pointer, c.DataType, blocks, blockRows, c.Hidden, (blockRows + gap) * pitch, pitch)
            : EpTensor.Create2D(received.Pointer, c.DataType, blockRows, c.Hidden, pitch);
        EpTensor outLayout = c.Mode == EpMode.LowLatency
            ? EpTensor.Create3D(output.Pointer, c.DataType, blocks, blockRows, c.Hidden, (blockRows + gap) * pitch, pitch)
            : EpTensor.Create2D(output.Pointer, c.DataType, blockRows, c.Hidden, pitch);
        h.Update(ids.As2D(EpDataType.Int32, batch.Tokens, c.TopK), weights.As2D(EpDataType.Float32, batch.Tokens, c.TopK));
        g.Dispatch(h, x.As2D(c.DataType, batch.Tokens, c.Hidden), layout);

        File.WriteAllBytes(Path.Combine(folder, "in.bin"), Download(received));
        File.WriteAllBytes(Path.Combine(folder, "total.bin"), HostView.Bytes(h.ReceivedTotal));
        File.WriteAllBytes(Path.Combine(folder, "rankCounts.bin"), HostView.Bytes(h.ReceivedRankCounts));
        File.WriteAllBytes(Path.Combine(folder, "expertCounts.bin"), HostView.Bytes(h.ReceivedExpertCounts));
        File.WriteAllBytes(Path.Combine(folder, "expertOffsets.bin"), HostView.Bytes(h.ReceivedExpertOffsets));
        File.WriteAllBytes(Path.Combine(folder, "ids.bin"), HostView.Bytes(h.ReceivedTopKIds));
        File.WriteAllBytes(Path.Combine(folder, "weights.bin"), HostView.Bytes(h.ReceivedTopKWeights));
        Assert.True(HostView.Int32s(h.ReceivedTotal)[0] > 0, "nothing was received: the run would prove nothing");

        foreach (EpPass pass in new[] { EpPass.Forward, EpPass.Backward })
        {
            output.Fill(Poison);
            File.WriteAllBytes(Path.Combine(folder, "out.bin"), Download(output));
            HostAffineExperts.Apply(h, layout, outLayout, pass);
            byte[] want = Download(output);
            long[] geometry = layout.DimensionCount == 3 ? [blockRows, layout.Stride(0), layout.Stride(1)] : [blockRows, 0, layout.Stride(0)];
            long[] arguments =
            [
                c.ReceiveRows(World), geometry[0], geometry[1], geometry[2], geometry[1], geometry[2],
                h.ReceivedTopKIds.Stride(0), h.ReceivedTopKWeights.Stride(0), c.MaxTokensPerRank, World, g.LocalExperts, g.Rank,
                pass == EpPass.Backward ? 1 : 0, Grid, Threads,
            ];
            string argumentText = $"\"{folder}\" " + string.Join(' ', Array.ConvertAll(arguments, v => v.ToString(CultureInfo.InvariantCulture)));
            (int exit, string errors) = KernelSyntaxTests.Run(program, argumentText);
            Assert.True(exit == 0, $"{program} {argumentText}\n{errors}");
            byte[] got = File.ReadAllBytes(Path.Combine(folder, "out.bin"));
            int at = want.AsSpan().CommonPrefixLength(got);
            Assert.True(at == want.Length && got.Length == want.Length,
                $"rank {g.Rank} {pass}: the kernel's output differs from the host experts' at byte {at} of {want.Length} (row {at / es / pitch} of the buffer)");
        }
    }

    private static string Compile(string folder, in EpConfig c)
    {
        foreach (string name in new[] { "cuda_host_run.h", "affine_experts_host_run.cpp" })
            File.Copy(Path.Combine(AppContext.BaseDirectory, "Cuda", name), Path.Combine(folder, name));
        File.Copy(Path.Combine(AppContext.BaseDirectory, "TestKernels", "affine_experts.cu"), Path.Combine(folder, "affine_experts.cu"));
        string program = Path.Combine(folder, "run");
        string arguments = $"-std=c++17 -O1 -ffp-contract=off -I \"{folder}\" {string.Join(' ', GpuAffineExperts.Defines(c))} " +
            $"-o \"{program}\" \"{Path.Combine(folder, "affine_experts_host_run.cpp")}\"";
        (int exit, string errors) = KernelSyntaxTests.Run("g++", arguments);
        Assert.True(exit == 0, $"g++ {arguments}\n{errors}");
        return program;
    }

    private static byte[] Download(EpBuffer buffer)
    {
        var bytes = new byte[buffer.Bytes];
        buffer.Download<byte>(bytes);
        return bytes;
    }
}
