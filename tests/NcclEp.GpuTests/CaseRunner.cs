using System;
using System.Diagnostics;
using System.Threading.Tasks;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// Runs one case on the Host backend and on the Cuda backend with the same inputs and compares every byte (a routed case:
/// the Cuda side's dispatch routes itself, the Host oracle runs Update, then Dispatch); the Cuda
/// handle's recvMessageRows against the reference model. With <see cref="HostOnly"/> (<c>--backend host</c>, no GPU
/// needed) the second run is the Host backend again, and each rank's combine output and token gradient are checked
/// against <see cref="ReferenceModel"/> as well, so the case still proves something.
/// </summary>
internal static class CaseRunner
{
    private static readonly bool OracleAfter = Environment.GetEnvironmentVariable("NCCLEP_GPU_ORACLE") == "after";

    /// <summary>Run the "actual" side on the Host backend too and check the home outputs against the reference (--backend host).</summary>
    public static bool HostOnly { get; set; }

    public static string? Run(GpuCase c, int[] devices, int seed, out TimeSpan elapsed)
    {
        long start = Stopwatch.GetTimestamp();
        int world = c.World;
        LaunchTimeline.Start(world);
        EpConfig config = c.Config(Math.Max(1, c.Tokens));
        var inputs = new RankBatch[world];
        for (int r = 0; r < world; r++)
        {
            int tokens = r == world - 1 && c.Tokens > 1 ? c.Tokens - 1 : c.Tokens;  // one rank sends fewer: variable tokens per sender
            inputs[r] = c.Batch(tokens, seed * 1000 + r);
        }

        // The Host oracle runs on other cores while the Cuda group is created and run: both only read the inputs.
        // NCCLEP_GPU_ORACLE=after runs it once the Cuda run is done instead (to tell a host-side delay from a GPU one).
        GpuTrace.Line($"case {c} on GPU(s) {string.Join(",", devices)}: Host oracle {(OracleAfter ? "deferred" : "started")}");
        Func<BackendResult> runOracle = () => RunOn(EpGroup.CreateHost(config, world), c, inputs, routed: false);
        Task<BackendResult>? oracle = OracleAfter ? null : Task.Run(runOracle);
        BackendResult actual;
        try
        {
            if (HostOnly)
            {
                actual = RunOn(EpGroup.CreateHost(config, world), c, inputs, c.Routed);
                BackendResult oracleResult = oracle is null ? runOracle() : oracle.GetAwaiter().GetResult();
                elapsed = Stopwatch.GetElapsedTime(start);
                return ResultCompare.FirstDifference(oracleResult.Ranks, actual.Ranks) ?? MessageRows(config, inputs, actual.MessageRows)
                    ?? HomeOutputs(config, inputs, actual.Ranks);
            }
            var options = TopologyEnvironment.Apply(new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(2) });
            EpGroup[] cuda = EpGroup.CreateCuda(config, devices, options);
            LaunchTimeline.Kernels = KernelOccupancy.Describe(cuda[0]);
            BlockTimeline.Reset(cuda);
            GpuTrace.Line($"case {c}: Cuda group created; kernels: {LaunchTimeline.Kernels}");
            actual = RunOn(cuda, c, inputs, c.Routed);
            GpuTrace.Line($"case {c}: Cuda groups disposed");
        }
        catch
        {
            // The oracle's threads finish on their own; wait so the next case does not start beside them.
            try { oracle?.Wait(); } catch (AggregateException) { }
            throw;
        }
        BackendResult expected = oracle is null ? runOracle() : oracle.GetAwaiter().GetResult();
        GpuTrace.Line($"case {c}: Host oracle done");
        elapsed = Stopwatch.GetElapsedTime(start);
        return ResultCompare.FirstDifference(expected.Ranks, actual.Ranks) ?? MessageRows(config, inputs, actual.MessageRows);
    }

    /// <summary>Each rank's combine output and token gradient against the reference, token by token (null: all agree).</summary>
    private static string? HomeOutputs(EpConfig config, RankBatch[] inputs, RankResult[] ranks)
    {
        var model = new ReferenceModel(config, inputs.Length, inputs);
        for (int r = 0; r < inputs.Length; r++)
        {
            foreach ((string part, EpPass pass) in new[] { ("combined", EpPass.Forward), ("gradX", EpPass.Backward) })
            {
                byte[] rows = ranks[r].Parts[part];
                for (int t = 0; t < inputs[r].Tokens; t++)
                {
                    string? bad = ReceiveChecks.TokenRow($"rank {r} {part}", t, model.HomeRow(r, t, pass), rows.AsSpan(t * config.RowBytes, config.RowBytes), config.DataType);
                    if (bad is not null) return bad;
                }
            }
        }
        return null;
    }

    /// <summary>Expert-major: each Cuda rank's recvMessageRows against the reference (null: all agree).</summary>
    private static string? MessageRows(EpConfig config, RankBatch[] inputs, int[][] actual)
    {
        if (config.Layout != EpLayout.ExpertMajor) return null;
        var model = new ReferenceModel(config, inputs.Length, inputs);
        for (int r = 0; r < inputs.Length; r++)
        {
            string? bad = ReceiveChecks.MessageRows($"rank {r}", model.MessageRows(r), actual[r], config.MaxTokensPerRank, config.TopK);
            if (bad is not null) return bad;
        }
        return null;
    }

    private static BackendResult RunOn(EpGroup[] groups, GpuCase c, RankBatch[] inputs, bool routed)
    {
        try
        {
            return BackendRun.Run(groups, inputs, routed);
        }
        catch
        {
            BlockTimeline.Capture(groups);  // before the groups go: only the NCCLEP_BLOCK_TIMELINE kernels have one
            throw;
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
    }
}
