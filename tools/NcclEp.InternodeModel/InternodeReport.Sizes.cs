using System.IO;
namespace NcclEp.InternodeModel;

public sealed partial class InternodeReport
{
    private void WriteRouting(TextWriter w, Workload workload, string title)
    {
        Heading(w, title);
        var table = new MarkdownTable("#nodes × GPUs", "W", "L", "p_r", "E[ranks]", "E[LSA peers]", "E[network peers]", "p_n", "E[nodes]", "E[remote nodes]");
        foreach (Cluster c in Clusters)
        {
            var r = new Routing(c, workload);
            table.Row(c.Label, Num.I(c.World), Num.I(r.LocalExperts), Num.F(r.RankHit, 4), Num.F(r.Ranks, 3), Num.F(r.LsaPeers, 3),
                Num.F(r.NetworkPeers, 3), Num.F(r.NodeHit, 4), Num.F(r.Nodes, 3), Num.F(r.RemoteNodes, 3));
        }
        table.WriteTo(w);
    }

    private void WriteStaging(TextWriter w, Workload workload, string mode, string perSlotLayout, string perRankLayout)
    {
        StagingLayout unit = Traffic.Staging(new Cluster(1, 1), workload, CombineRows.PerRank);
        Heading(w, $"{mode} staging buffer per rank (M = {Num.I(workload.TokensPerRank)}, message = {unit.MessageHeaderBytes} + {Num.I(workload.RowBytes)} = {Num.I(unit.MessageBytes)} B)");
        var table = new MarkdownTable("#nodes × GPUs", "R", "L", "dispatch header B", "dispatch slice MB", "combine slice S=K MB",
            "combine slice S=1 MB", $"staging {perSlotLayout} MB", $"same, S=min(K,L) MB", $"staging {perRankLayout} MB", "hier. staging MB");
        foreach (Cluster c in StagingClusters())
        {
            StagingLayout slot = Traffic.Staging(c, workload, CombineRows.PerSlot);
            StagingLayout rank = Traffic.Staging(c, workload, CombineRows.PerRank);
            string hier = c.Forced ? "—" : Num.F(Traffic.Staging(c, workload, CombineRows.PerRank, hierarchical: true).TotalBytes / 1e6, 1);
            StagingLayout bounded = slot with { RowsPerToken = System.Math.Min(slot.TopK, slot.CountedExperts) };
            table.Row(c.Label, Num.I(c.NetworkPeers), Num.I(slot.CountedExperts), Num.I(slot.DispatchHeaderBytes), Num.Mb(slot.DispatchSliceBytes),
                Num.Mb(slot.CombineSliceBytes), Num.Mb(rank.CombineSliceBytes), Num.F(slot.TotalBytes / 1e6, 1), Num.F(bounded.TotalBytes / 1e6, 1),
                Num.F(rank.TotalBytes / 1e6, 1), hier);
        }
        table.WriteTo(w);
    }

    private Cluster[] StagingClusters()
    {
        var list = new System.Collections.Generic.List<Cluster>(Clusters);
        int last = _o.Nodes[^1];
        list.Add(new Cluster(1, _o.GpusPerNode) { LsaSize = 1 });
        list.Add(new Cluster(last, _o.GpusPerNode) { LsaSize = 1 });
        return [.. list];
    }

    private void WriteLegs(TextWriter w, Workload workload, string title)
    {
        Heading(w, title);
        var table = new MarkdownTable("#nodes × GPUs", "#operation", "flat NVLink KB", "flat network KB",
            "hier. NVLink own KB", "hier. NVLink forward KB", "hier. network KB", "flat ÷ hier. network");
        foreach (Cluster c in Clusters)
        {
            var routing = new Routing(c, workload);
            foreach ((string name, Operation op, CombineRows rows) in new[]
            {
                ("dispatch", Operation.Dispatch, CombineRows.PerRank),
                ("combine S=K", Operation.Combine, CombineRows.PerSlot),
                ("combine S=1", Operation.Combine, CombineRows.PerRank),
            })
            {
                TokenLegs flat = Traffic.PerToken(Variant.FlatGin, op, rows, routing, workload);
                TokenLegs hier = Traffic.PerToken(Variant.HierarchicalGin, op, rows, routing, workload);
                table.Row(c.Label, name, Num.Kb(flat.Nvlink), Num.Kb(flat.Network), Num.Kb(hier.Nvlink), Num.Kb(hier.Forward),
                    Num.Kb(hier.Network), Num.F(flat.Network / hier.Network, 2));
            }
        }
        table.WriteTo(w);
    }

    private void WriteMessages(TextWriter w)
    {
        Heading(w, "Messages per operation per rank");
        Cluster first = new(_o.Nodes[0], _o.GpusPerNode), last = new(_o.Nodes[^1], _o.GpusPerNode);
        var table = new MarkdownTable("#variant", "#network messages", "#NVLink flags", "kernel launches", "#CUDA Graph",
            $"network at {first.Label}", $"network at {last.Label}");
        foreach (Variant v in System.Enum.GetValues<Variant>())
        {
            (string net, string nvl) = v switch
            {
                Variant.FlatFixed => ("2R (ncclSend + ncclRecv per peer)", "G − 1"),
                Variant.FlatCountsFirst => ("4R (2R counts, then 2R rows)", "G − 1"),
                Variant.FlatGin => ("R (put + signal per peer)", "G − 1"),
                Variant.HierarchicalFixed => ("2(N − 1)", "2(G − 1)"),
                _ => ("N − 1", "2(G − 1)"),
            };
            string graph = v == Variant.FlatCountsFirst ? "no (host reads counts)" : "yes";
            table.Row(VariantNames.Of(v), net, nvl, Num.I(Traffic.Launches(v)), graph,
                Num.I(Traffic.NetworkMessages(v, first)), Num.I(Traffic.NetworkMessages(v, last)));
        }
        table.WriteTo(w);
    }
}
