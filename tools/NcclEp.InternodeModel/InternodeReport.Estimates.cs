using System.IO;
namespace NcclEp.InternodeModel;

public sealed partial class InternodeReport
{
    private void WriteEstimates(TextWriter w, Workload workload, string mode, string perSlotLayout, string perRankLayout)
    {
        Heading(w, $"{mode} estimates per operation per rank ({Num.I(workload.TokensPerRank)} tokens; MB on the NIC each way)");
        var table = new MarkdownTable("#nodes × GPUs", "#variant", "dispatch µs", "dispatch net MB",
            $"combine {perSlotLayout} µs", "net MB", $"combine {perRankLayout} µs", "net MB");
        foreach (Cluster c in Clusters)
        {
            foreach (Variant v in System.Enum.GetValues<Variant>())
            {
                OperationCost d = TimeModel.Estimate(v, Operation.Dispatch, CombineRows.PerRank, c, workload, Hw);
                OperationCost slot = TimeModel.Estimate(v, Operation.Combine, CombineRows.PerSlot, c, workload, Hw);
                OperationCost rank = TimeModel.Estimate(v, Operation.Combine, CombineRows.PerRank, c, workload, Hw);
                table.Row(c.Label, VariantNames.Of(v), Num.Us(d.Microseconds), Num.Mb(d.NetworkBytes),
                    Num.Us(slot.Microseconds), Num.Mb(slot.NetworkBytes), Num.Us(rank.Microseconds), Num.Mb(rank.NetworkBytes));
            }
        }
        table.WriteTo(w);
    }
}
