using System;
using System.IO;
namespace NcclEp.InternodeModel;

public sealed partial class InternodeReport
{
    private static readonly Variant[] Compared = [Variant.FlatFixed, Variant.FlatGin, Variant.HierarchicalGin];

    /// <summary>Latency side by side: DeepEP's FP8 dispatch / BF16 combine against this model's bf16 (ExpertMajor combine).</summary>
    private void WriteDeepEpLowLatency(TextWriter w)
    {
        Workload workload = _o.LowLatency;
        Heading(w, $"LL against DeepEP V1 low-latency kernels (µs; {Num.I(workload.TokensPerRank)} tokens per rank)");
        var table = new MarkdownTable("EP", "#nodes × GPUs", "DeepEP dispatch", "flat fixed", "flat GIN", "hier. GIN",
            "DeepEP combine", "flat fixed S=K", "flat GIN S=K", "hier. GIN");
        foreach (Cluster c in Clusters)
        {
            DeepEpFigure? f = DeepEpPublished.For(DeepEpPublished.LowLatencyUs, c.World);
            var d = Array.ConvertAll(Compared, v => Num.Us(TimeModel.Estimate(v, Operation.Dispatch, CombineRows.PerRank, c, workload, Hw).Microseconds));
            var k = Array.ConvertAll(Compared, v => Num.Us(TimeModel.Estimate(v, Operation.Combine, CombineRows.PerSlot, c, workload, Hw).Microseconds));
            table.Row(Num.I(c.World), c.Label, Num.OrDash(f?.Dispatch, 0), d[0], d[1], d[2], Num.OrDash(f?.Combine, 0), k[0], k[1], k[2]);
        }
        table.WriteTo(w);
    }

    /// <summary>
    /// Bandwidth in DeepEP's own metric: tokens × distinct destination nodes (own node included) × row bytes ÷ time,
    /// with DeepEP's group-limited routing (min(N, 4) nodes per token).
    /// </summary>
    private void WriteDeepEpNormal(TextWriter w)
    {
        Workload workload = _o.HighThroughput with { NodeLimit = GroupLimit };
        Heading(w, $"HT against DeepEP normal kernels (GB/s in DeepEP's metric; {Num.I(workload.TokensPerRank)} tokens per rank, ≤ {GroupLimit} nodes per token)");
        var table = new MarkdownTable("EP", "#nodes × GPUs", "E[nodes]", "#operation", "DeepEP V1", "DeepEP V2",
            "flat fixed", "flat counts first", "flat GIN", "hier. GIN");
        Variant[] ours = [Variant.FlatFixed, Variant.FlatCountsFirst, Variant.FlatGin, Variant.HierarchicalGin];
        foreach (Cluster c in Clusters)
        {
            var routing = new Routing(c, workload);
            double logicalBytes = workload.TokensPerRank * routing.Nodes * workload.RowBytes;
            DeepEpFigure? v1 = DeepEpPublished.For(DeepEpPublished.NormalRdmaGBps, c.World);
            DeepEpFigure? v2 = DeepEpPublished.For(DeepEpPublished.V2RdmaGBps, c.World);
            foreach (Operation op in new[] { Operation.Dispatch, Operation.Combine })
            {
                var gbps = Array.ConvertAll(ours, v =>
                    Num.F(logicalBytes / TimeModel.Rate(1) / TimeModel.Estimate(v, op, CombineRows.PerRank, c, workload, Hw).Microseconds, 1));
                bool dispatch = op == Operation.Dispatch;
                table.Row(Num.I(c.World), c.Label, Num.F(routing.Nodes, 2), dispatch ? "dispatch" : "combine Flat",
                    Num.OrDash(dispatch ? v1?.Dispatch : v1?.Combine, 0), Num.OrDash(dispatch ? v2?.Dispatch : v2?.Combine, 0),
                    gbps[0], gbps[1], gbps[2], gbps[3]);
            }
        }
        table.WriteTo(w);
    }
}
