using System;
using System.Globalization;
using System.Threading;
using NcclEp;
using NcclEp.Graphs;

namespace MoeLayerStep;

/// <summary>
/// Captures one MoE layer step (Update → Dispatch → stand-in experts → Combine) on every rank, then replays it for a
/// number of decode steps, writing new tokens and new top-k routing into the captured buffers before each replay, and
/// checks each result against the router-weighted sum of the experts' outputs the step must produce (each expert
/// returns a different row, so a mix-up of slots or weights would show).
/// Usage: MoeLayerStep [--host | --cuda] [--steps N]
/// </summary>
internal static class Program
{
    private const int World = 2;

    private static int Main(string[] args)
    {
        bool wantHost = Array.IndexOf(args, "--host") >= 0, wantCuda = Array.IndexOf(args, "--cuda") >= 0;
        int steps = Array.IndexOf(args, "--steps") is int i and >= 0 && i + 1 < args.Length
            ? int.Parse(args[i + 1], CultureInfo.InvariantCulture)
            : 20;
        string reason = "--host was given";
        bool cuda = !wantHost && EpGroup.IsCudaAvailable(out reason);
        if (wantCuda && !cuda)
        {
            Console.Error.WriteLine($"--cuda: no usable GPU ({reason})");
            return 2;
        }

        // Low-latency decode: up to 16 tokens per rank, 8 experts (4 per rank), top-2, bf16 rows of 1024.
        var config = new EpConfig(EpMode.LowLatency, NumExperts: 8, Hidden: 1024, TopK: 2, MaxTokensPerRank: 16, EpLayout.ExpertMajor);
        int[] devices = cuda && CudaStreams.DeviceCount() >= World ? [0, 1] : [0, 0];
        EpGroup[] groups = cuda ? EpGroup.CreateCuda(config, devices) : EpGroup.CreateHost(config, World);
        Console.WriteLine(cuda
            ? $"backend Cuda: {World} ranks on GPU {string.Join(",", devices)} ({groups[0].FabricDescription})"
            : $"backend Host: {World} ranks as threads of this process");

        var results = new string?[World];
        var errors = new Exception?[World];
        using var barrier = new Barrier(World);
        var threads = new Thread[World];
        for (int r = 0; r < World; r++)
        {
            int rank = r;
            threads[r] = new Thread(() =>
            {
                try
                {
                    results[rank] = RunRank(groups[rank], cuda ? devices[rank] : -1, steps, barrier);
                }
                catch (Exception e)
                {
                    errors[rank] = e;
                    barrier.RemoveParticipant();
                }
            });
            threads[r].Start();
        }
        foreach (Thread t in threads) t.Join();
        foreach (EpGroup g in groups) g.Dispose();

        bool ok = true;
        for (int r = 0; r < World; r++)
        {
            if (errors[r] is Exception e)
            {
                Console.WriteLine($"rank {r}: FAILED: {e.GetType().Name}: {e.Message}");
                ok = false;
            }
            else
            {
                Console.WriteLine($"rank {r}: {results[r]}");
                ok &= results[r]!.StartsWith("OK", StringComparison.Ordinal);
            }
        }
        return ok ? 0 : 1;
    }

    /// <summary>One rank: buffers, capture, then replays with new inputs, each checked.</summary>
    private static string RunRank(EpGroup group, int device, int steps, Barrier barrier)
    {
        EpConfig c = group.Config;
        int tokens = c.MaxTokensPerRank - group.Rank;  // ranks need not send the same number of tokens
        if (device >= 0) CudaStreams.EnterContext(device);
        EpStream stream = group.CreateStream();  // co-located ranks need theirs from here; owned by the group
        try
        {
            using ExpertKernel? experts = device >= 0 ? new ExpertKernel(device) : null;
            using var layer = new LayerBuffers(group, tokens);
            barrier.SignalAndWait();  // co-located ranks: nobody allocates while a peer's kernels wait

            // Capture once: nothing runs and nothing is read from the buffers.
            LayerStep step = layer.Step(experts?.Function ?? 0);
            using EpGraph graph = EpGraph.Capture(group, stream, ref step);

            var random = new Random(42 + group.Rank);
            double worst = 0;
            for (int s = 0; s < steps; s++)
            {
                layer.WriteInputs(random);  // new tokens and new routing, in the same buffers
                barrier.SignalAndWait();
                graph.Replay(stream);        // one cuGraphLaunch on Cuda; the recorded calls on Host
                group.Synchronize(stream);
                worst = Math.Max(worst, layer.CheckOutput());
                barrier.SignalAndWait();     // nobody overwrites inputs while a peer's replay still runs
            }
            return worst <= 1e-2
                ? $"OK: {steps} replays of a {graph.NodeCount}-node step, {tokens} tokens each, max error {worst:0.0e0} of Σ|w·expert(x)| (bf16)"
                : $"WRONG: max error {worst:0.0e0} of Σ|w·expert(x)| over {steps} replays";
        }
        finally
        {
            if (device >= 0) CudaStreams.LeaveContext(device);
        }
    }
}
