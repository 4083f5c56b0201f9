using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>
/// <c>--suite protocol</c>: ranks out of step on the Cuda backend (issue 20, item 3; docs/kernels.md, "Protocol and
/// memory ordering"), bit for bit against the Host backend running the same script.
/// <list type="bullet">
/// <item><description>W = 2, one-sided routing (rank 0's tokens all to rank 1's experts, rank 1's none to rank 0's), six
/// combines in a row after one dispatch, rank 0 held by a spin kernel before each: without the combine's presence rule
/// rank 1's third combine overwrites the buffer half of its first before rank 0 reduced it (a time-out naming peer 1 at
/// sequence 1, or a mix of two combines' rows). In every layout; once more with rank 1 held on the host (a sleep
/// before the launch) before its dispatch.</description></item>
/// <item><description>Random routing, three rounds back to back with no barrier (Update, Dispatch, 3–6 Combines,
/// Dispatch(Backward)s), every rank held at random (spin kernel or sleep) before a third of its calls: for each --world
/// size.</description></item>
/// <item><description>A masked rank's late combine (W = 3, <see cref="ProtocolMaskedRank"/>).</description></item>
/// </list>
/// Ranks go on distinct GPUs when there are enough, else co-located on GPU 0. <c>--backend host</c> runs the "Cuda" side on
/// the Host backend too (sleeps instead of spins), which checks the suite itself where there is no GPU. Usage:
/// <c>--suite protocol [--world 2,4] [--backend host]</c>. Ends with "N passed, N failed, N skipped".
/// </summary>
internal static class ProtocolSuite
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public static int Run(string[] args)
    {
        int[] worlds = (Program.Arg(args, "--world") ?? "2").Split(',').Select(w => int.Parse(w, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
        bool hostOnly = Program.Arg(args, "--backend") == "host";
        var scripts = new List<ProtocolScript>();
        int seed = 1;
        foreach (EpConfig config in SuiteLayouts.Four(world: 2))
            scripts.Add(ProtocolScript.OneSided(config, combines: 6, receiverDelayNs: 2_000_000, senderDelayNs: 0, seed: seed++));
        scripts.Add(ProtocolScript.OneSided(SuiteLayouts.Four(world: 2)[0], combines: 3, receiverDelayNs: 500_000, senderDelayNs: 50_000_000, seed: seed++));
        foreach (int world in worlds)
        foreach (EpConfig config in SuiteLayouts.Four(world))
            scripts.Add(ProtocolScript.BackToBack(config, world, rounds: 3, maxDelayNs: 1_000_000, seed: seed++));

        string suffix = hostOnly ? " [Host against Host]" : "";
        var cases = scripts.Select(s => (s.Name + suffix, (Func<string?>)(() => RunCase(s, hostOnly))))
            .Append((ProtocolMaskedRank.Name + suffix, () => ProtocolMaskedRank.Run(hostOnly))).ToArray();
        string? skip = hostOnly || EpGroup.IsCudaAvailable(out string reason) ? null : $"no usable GPU ({reason})";
        return SuiteCases.Run(cases, skip);
    }


    private static string? RunCase(ProtocolScript script, bool hostOnly)
    {
        RankResult[] expected = Run(EpGroup.CreateHost(script.Config, script.World, new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(10) }), script);
        EpGroup[] actualGroups = hostOnly
            ? EpGroup.CreateHost(script.Config, script.World, new EpGroupOptions { PeerTimeout = Timeout })
            : EpGroup.CreateCuda(script.Config, SuiteLayouts.Devices(script.World), new EpGroupOptions { PeerTimeout = Timeout });
        RankResult[] actual = Run(actualGroups, script);
        return ResultCompare.FirstDifference(expected, actual);
    }

    private static RankResult[] Run(EpGroup[] groups, ProtocolScript script)
    {
        try
        {
            return ProtocolRun.Run(groups, script);
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

}
