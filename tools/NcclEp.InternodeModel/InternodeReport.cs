using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
namespace NcclEp.InternodeModel;

/// <summary>The tables of docs/internode.md, in the order the document uses them.</summary>
public sealed partial class InternodeReport
{
    private readonly ModelOptions _o;

    public InternodeReport(ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _o = options;
    }

    /// <summary>Nodes per token under DeepSeek-V3's group-limited routing (DeepEP's internode tests: min(nodes, 4)).</summary>
    public const int GroupLimit = 4;

    private Hardware Hw => _o.Hardware;

    /// <summary>The clusters of the estimates: each node count × GPUs per node, LSA team = node.</summary>
    private IEnumerable<Cluster> Clusters => _o.Nodes.Select(n => new Cluster(n, _o.GpusPerNode));

    /// <summary>Every section, each under its own heading.</summary>
    public void WriteAll(TextWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.WriteLine("# NcclEp internode model");
        w.WriteLine();
        WriteInputs(w);
        Workload limited = _o.LowLatency with { NodeLimit = GroupLimit };
        WriteRouting(w, _o.LowLatency, "Routing: uniform top-k (exact expectations)");
        WriteRouting(w, limited, $"Routing: group-limited top-k (≤ {GroupLimit} nodes per token, as in DeepEP's tests)");
        WriteStaging(w, _o.LowLatency, "LL", "ExpertMajor", "RankMajor");
        WriteStaging(w, _o.HighThroughput, "HT", "ExpertMajor", "Flat");
        WriteLegs(w, _o.LowLatency, "Bytes per token per leg, uniform routing (expected actual bytes; KB = 10^3 B)");
        WriteLegs(w, limited, $"Bytes per token per leg, ≤ {GroupLimit} nodes per token");
        WriteMessages(w);
        WriteEstimates(w, _o.LowLatency, "LL", "ExpertMajor", "RankMajor");
        WriteEstimates(w, _o.HighThroughput, "HT", "ExpertMajor", "Flat");
        WriteDeepEpLowLatency(w);
        WriteDeepEpNormal(w);
    }

    private void WriteInputs(TextWriter w)
    {
        w.WriteLine("## Inputs");
        w.WriteLine();
        Workload ll = _o.LowLatency, ht = _o.HighThroughput;
        new MarkdownTable("#parameter", "#value")
            .Row("GPUs per node (G), one NIC each", Num.I(_o.GpusPerNode))
            .Row("nodes (N)", string.Join(", ", _o.Nodes))
            .Row("tokens per rank = maxTokensPerRank (M)", $"LL {Num.I(ll.TokensPerRank)}, HT {Num.I(ht.TokensPerRank)}")
            .Row("hidden / bytes per element", $"{Num.I(ll.Hidden)} / {ll.ElementBytes} (bf16)")
            .Row("top-k (K), experts (E)", $"{ll.TopK}, {ll.Experts}")
            .Row("NIC line rate / achieved, GB/s each way", $"{Num.F(Hw.NicLineRateGBps, 0)} / {Num.F(Hw.NetworkGBps, 0)}")
            .Row("NVLink all-to-all, GB/s each way per GPU", Num.F(Hw.NvlinkGBps, 0))
            .Row("local copy (pack/unpack), GB/s", Num.F(Hw.LocalCopyGBps, 0))
            .Row("α network / per ncclSend or ncclRecv / per GIN put, µs", $"{Num.F(Hw.NetworkLatencyUs, 1)} / {Num.F(Hw.NetworkMessageUs, 2)} / {Num.F(Hw.GinMessageUs, 2)}")
            .Row("α NVLink (flag + grid barrier), µs", Num.F(Hw.NvlinkLatencyUs, 1))
            .Row("kernel launch in a graph / host sync (counts first), µs", $"{Num.F(Hw.KernelLaunchUs, 1)} / {Num.F(Hw.HostSyncUs, 1)}")
            .WriteTo(w);
    }

    private static void Heading(TextWriter w, string text)
    {
        w.WriteLine("## " + text);
        w.WriteLine();
    }
}
