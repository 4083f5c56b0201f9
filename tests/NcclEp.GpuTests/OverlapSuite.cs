using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>What an overlap case exercises.</summary>
internal enum OverlapKind
{
    /// <summary>Two micro-batches: every call split into its send and complete, a dispatch and a combine in flight together.</summary>
    Split,

    /// <summary>Low-latency rank-major: the dispatch into the window's rows, the experts in place there, the combine from there.</summary>
    ZeroCopy,
}

/// <summary>Where the Cuda side's handles live.</summary>
internal enum HandleMemoryKind
{
    /// <summary><c>EpGroup.CreateHandle()</c>.</summary>
    Owned,

    /// <summary><c>EpGroup.CreateHandle(EpBuffer, offset)</c>, both handles in one buffer of the caller's.</summary>
    Buffer,

    /// <summary><c>EpGroup.CreateHandle(pointer, bytes)</c> into that buffer.</summary>
    Pointer,
}

/// <summary>One case: a configuration, its kind, where the handles live, and the seed of its inputs and holds.</summary>
internal sealed record OverlapCase(EpConfig Config, int World, OverlapKind Kind, HandleMemoryKind Memory, int Rounds, long MaxHoldNs, int Seed)
{
    public override string ToString() =>
        $"W={World} {(Kind == OverlapKind.Split ? "send/complete, two micro-batches" : "zero-copy receive")} " +
        $"{(Config.Mode == EpMode.LowLatency ? "LL" : "HT")} {Config.Layout} H={Config.Hidden} K={Config.TopK} T={Config.MaxTokensPerRank} " +
        $"E={Config.NumExperts} {Config.DataType}, handles {Memory switch { HandleMemoryKind.Owned => "owned", HandleMemoryKind.Buffer => "in a caller's buffer", _ => "at a caller's pointer" }}, " +
        $"{Rounds} rounds, ranks held 0-{MaxHoldNs / 1e6:0.#} ms between sends and completes";

    /// <summary>How long rank <paramref name="rank"/> is held at its <paramref name="hold"/>-th hold (the same on both backends).</summary>
    public long HoldNs(int rank, int hold)
    {
        var random = new Random(unchecked((Seed * 7919) + (rank * 104729) + hold));
        return random.Next(3) == 0 ? 0 : (long)(random.NextDouble() * MaxHoldNs);
    }

    /// <summary>Micro-batch <paramref name="batch"/>'s inputs of <paramref name="round"/> on <paramref name="rank"/>.</summary>
    public RankBatch Inputs(int round, int batch, int rank)
    {
        var rng = new Random((Seed * 100_000) + (round * 100) + (batch * 10) + rank);
        return BatchGenerator.Uniform(rng, Config, rng.Next(1, Config.MaxTokensPerRank + 1), RoutingStyle.Mixed, gradient: false);
    }
}

/// <summary>
/// <c>--suite overlap</c> (issue 22): send/complete, zero-copy receive and handles in caller memory on the Cuda backend,
/// bit for bit against the Host backend running the plain calls with owned handles and the caller's buffers.
/// <list type="bullet">
/// <item><description>Send/complete: two micro-batches per round as two-batch overlap runs them, every call kind split
/// (Dispatch, Combine, and both backward passes), a dispatch-route and a combine-route operation in flight together, each
/// rank held at random between each send and its complete by a spin kernel (the caller's work); every layout, the handles
/// owned, in a caller's buffer, or at a caller's pointer.</description></item>
/// <item><description>Zero-copy receive (LL rank-major): the rows read from the window, the experts written there in
/// place, the combine reading them there; rounds alternate the window half.</description></item>
/// </list>
/// Ranks go on distinct GPUs when there are enough, else co-located on GPU 0; the topology variables of the GPU scripts
/// apply (NCCLEP_FORCE_NETWORK=1: the network peers' exchange runs in the complete half, and zero-copy copies their rows
/// in from the staging buffer). <c>--backend host</c> runs the other side on the Host backend too. Usage:
/// <c>--suite overlap [--world 2,4] [--backend host]</c>. Ends with "N passed, N failed, N skipped".
/// </summary>
internal static class OverlapSuite
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static int Run(string[] args)
    {
        int[] worlds = (Program.Arg(args, "--world") ?? "2").Split(',').Select(w => int.Parse(w, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
        bool hostOnly = Program.Arg(args, "--backend") == "host";
        var cases = new List<OverlapCase>();
        int seed = 1;
        foreach (int world in worlds)
        {
            EpConfig[] kinds = SuiteLayouts.Four(world);
            for (int i = 0; i < kinds.Length; i++)
                cases.Add(new OverlapCase(kinds[i], world, OverlapKind.Split, (HandleMemoryKind)(i % 3), Rounds: 3, MaxHoldNs: 1_000_000, seed++));
            EpConfig rankMajor = kinds[1];
            cases.Add(new OverlapCase(rankMajor, world, OverlapKind.ZeroCopy, HandleMemoryKind.Owned, Rounds: 4, MaxHoldNs: 1_000_000, seed++));
            cases.Add(new OverlapCase(rankMajor with { DataType = EpDataType.Float32 }, world, OverlapKind.ZeroCopy, HandleMemoryKind.Pointer, Rounds: 4, MaxHoldNs: 500_000, seed++));
        }

        string suffix = hostOnly ? " [Host against Host]" : "";
        var named = cases.Select(c => (c + suffix, (Func<string?>)(() => RunCase(c, hostOnly)))).ToArray();
        string? skip = hostOnly || EpGroup.IsCudaAvailable(out string reason) ? null : $"no usable GPU ({reason})";
        return SuiteCases.Run(named, skip);
    }


    private static string? RunCase(OverlapCase c, bool hostOnly)
    {
        RankResult[] expected = Run(EpGroup.CreateHost(c.Config, c.World, new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(10) }), c, plain: true);
        EpGroupOptions options = TopologyEnvironment.Apply(new EpGroupOptions { PeerTimeout = Timeout });
        EpGroup[] actualGroups = hostOnly
            ? EpGroup.CreateHost(c.Config, c.World, new EpGroupOptions { PeerTimeout = Timeout })
            : EpGroup.CreateCuda(c.Config, SuiteLayouts.Devices(c.World), options);
        RankResult[] actual = Run(actualGroups, c, plain: false);
        return ResultCompare.FirstDifference(expected, actual);
    }

    private static RankResult[] Run(EpGroup[] groups, OverlapCase c, bool plain)
    {
        var results = new RankResult[groups.Length];
        try
        {
            using var ready = new System.Threading.Barrier(groups.Length);
            RankThreads.RunOnce(groups.Length, rank =>
            {
                using var me = new OverlapRankRun(groups[rank], c, plain);
                // Co-located ranks share a GPU: allocation must not overlap another rank's waiting kernels.
                if (!ready.SignalAndWait(TimeSpan.FromSeconds(60))) throw new TimeoutException("A peer rank did not reach the start barrier.");
                results[rank] = me.RunAll();
            });
            return results;
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

}
