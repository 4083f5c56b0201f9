using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// --suite fp8: the FP8 dispatch of the Cuda backend against the Host oracle, bit for bit — received FP8 rows, every
/// scale, counts and source info, and the combine and both backward passes after it — for every layout of both modes,
/// every recipe, bf16 and fp32 rows, top-k 1 and 8, few and many tokens; and in every layout the FP8 dispatch and the
/// combine split into send + complete on the side under test (the Host runs the plain calls); and the FP8 dispatch that
/// routes itself (one launch up to 128 tokens) on the side under test, against the Host's Update then FP8 dispatch.
/// Usage: NcclEp.GpuTests --suite fp8 [--world 2[,4]] [--filter TEXT] [--budget-seconds N] [--backend host]
/// (--backend host runs the "Cuda" side on the Host backend too: the suite's own check on a machine without a GPU.)
/// </summary>
internal static class Fp8Suite
{
    public static int Run(string[] args)
    {
        int[] worlds = (Program.Arg(args, "--world") ?? "2").Split(',').Select(int.Parse).ToArray();
        double budget = double.Parse(Program.Arg(args, "--budget-seconds") ?? "480", CultureInfo.InvariantCulture);
        List<Fp8Case> cases = Grid(worlds);
        if (Program.Arg(args, "--filter") is string filter) cases = cases.FindAll(c => c.ToString().Contains(filter, StringComparison.Ordinal));
        bool hostOnly = Program.Arg(args, "--backend") == "host";
        string? skip = hostOnly || EpGroup.IsCudaAvailable(out string reason) ? null : $"no usable GPU ({reason})";
        int deviceCount = skip is null && !hostOnly ? Program.DeviceCount() : 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var named = new List<(string, Func<string?>)>();
        int seed = 0;
        foreach (Fp8Case c in cases)
        {
            int caseSeed = ++seed;
            int[] devices = deviceCount >= c.World ? Enumerable.Range(0, c.World).ToArray() : new int[c.World];
            // A case past the time budget fails as "not run", so a short budget can never read as a pass.
            named.Add((c.ToString(), () => clock.Elapsed.TotalSeconds > budget
                ? "not run: the time budget is spent (raise --budget-seconds, or --filter a slice)"
                : RunCase(c, devices, caseSeed, hostOnly)));
        }
        if (skip is null)
        {
            Console.WriteLine(hostOnly ? $"{cases.Count} FP8 cases, Host backend against itself (--backend host)"
                : $"{cases.Count} FP8 cases; {deviceCount} GPU(s); ranks co-located on GPU 0 where fewer GPUs than ranks");
        }
        return SuiteCases.Run(named.ToArray(), skip);
    }

    private static List<Fp8Case> Grid(int[] worlds)
    {
        var cases = new List<Fp8Case>();
        EpDispatchQuantization[] recipes = [EpDispatchQuantization.Float8E4M3, EpDispatchQuantization.Float8E4M3PowerOfTwo, EpDispatchQuantization.Float8E4M3UE8M0];
        foreach (int w in worlds)
        foreach (EpDispatchQuantization recipe in recipes)
        {
            foreach (EpLayout layout in new[] { EpLayout.ExpertMajor, EpLayout.RankMajor })
            foreach ((int h, int k, int t) in new[] { (7168, 8, 128), (2048, 1, 7), (1024, 8, 1) })
                cases.Add(new Fp8Case(EpMode.LowLatency, layout, recipe, w, h, k, t, 8 * w, EpDataType.BFloat16));
            foreach (EpLayout layout in new[] { EpLayout.Flat, EpLayout.ExpertMajor })
            foreach ((int h, int k, int t) in new[] { (7168, 8, 4096), (2048, 4, 512), (1024, 1, 1) })
                cases.Add(new Fp8Case(EpMode.HighThroughput, layout, recipe, w, h, k, t, 64, EpDataType.BFloat16));
            cases.Add(new Fp8Case(EpMode.LowLatency, EpLayout.ExpertMajor, recipe, w, 1536, 9, 33, 8 * w, EpDataType.Float32));
        }
        // The FP8 dispatch as send + complete on the side under test, against the Host's plain calls.
        foreach (int w in worlds)
        {
            cases.Add(new Fp8Case(EpMode.LowLatency, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3, w, 7168, 8, 128, 8 * w, EpDataType.BFloat16, Split: true));
            cases.Add(new Fp8Case(EpMode.LowLatency, EpLayout.RankMajor, EpDispatchQuantization.Float8E4M3UE8M0, w, 2048, 4, 64, 8 * w, EpDataType.BFloat16, Split: true));
            cases.Add(new Fp8Case(EpMode.HighThroughput, EpLayout.Flat, EpDispatchQuantization.Float8E4M3PowerOfTwo, w, 7168, 8, 1024, 64, EpDataType.BFloat16, Split: true));
            cases.Add(new Fp8Case(EpMode.HighThroughput, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3, w, 2048, 4, 512, 64, EpDataType.BFloat16, Split: true));
        }
        // The FP8 dispatch that routes itself: one launch (LL; HT at 1 token), and HT at 512 tokens (update launches first).
        foreach (int w in worlds)
        {
            cases.Add(new Fp8Case(EpMode.LowLatency, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3, w, 7168, 8, 128, 8 * w, EpDataType.BFloat16, Routed: true));
            cases.Add(new Fp8Case(EpMode.LowLatency, EpLayout.RankMajor, EpDispatchQuantization.Float8E4M3UE8M0, w, 2048, 4, 1, 8 * w, EpDataType.BFloat16, Split: true, Routed: true));
            cases.Add(new Fp8Case(EpMode.HighThroughput, EpLayout.Flat, EpDispatchQuantization.Float8E4M3PowerOfTwo, w, 1024, 8, 1, 64, EpDataType.BFloat16, Routed: true));
            cases.Add(new Fp8Case(EpMode.HighThroughput, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3, w, 2048, 4, 512, 64, EpDataType.BFloat16, Routed: true));
        }
        return cases;
    }

    private static string? RunCase(Fp8Case c, int[] devices, int seed, bool hostOnly)
    {
        var inputs = new Fp8CaseInputs(c, seed);
        EpConfig config = c.Config();
        // The Host oracle runs on other cores while the Cuda group runs: both only read the inputs.
        Task<RankResult[]> oracle = Task.Run(() => RunOn(EpGroup.CreateHost(config, c.World), c, inputs, split: false, routed: false));
        RankResult[] actual;
        try
        {
            var options = TopologyEnvironment.Apply(new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(2) });
            actual = RunOn(hostOnly ? EpGroup.CreateHost(config, c.World) : EpGroup.CreateCuda(config, devices, options), c, inputs, c.Split, c.Routed);
        }
        catch
        {
            try { oracle.Wait(); } catch (AggregateException) { }
            throw;
        }
        return ResultCompare.FirstDifference(oracle.GetAwaiter().GetResult(), actual);
    }

    private static RankResult[] RunOn(EpGroup[] groups, Fp8Case c, Fp8CaseInputs inputs, bool split, bool routed)
    {
        try
        {
            return Fp8Run.Run(groups, c, inputs, split, routed);
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
    }
}
