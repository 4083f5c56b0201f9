using System;
using System.Linq;
using NcclEp.InternodeModel;
using Xunit;

namespace NcclEp.Tests.Internode;

/// <summary>The model's bytes and times behave as the design says they must.</summary>
public class TrafficTests
{
    private static readonly int[] NodeCounts = [2, 4, 8, 16];

    public static TheoryData<Operation, CombineRows, int> Cases()
    {
        var data = new TheoryData<Operation, CombineRows, int>();
        foreach (int limit in new[] { 0, 4 })
        {
            data.Add(Operation.Dispatch, CombineRows.PerRank, limit);
            data.Add(Operation.Combine, CombineRows.PerSlot, limit);
            data.Add(Operation.Combine, CombineRows.PerRank, limit);
        }
        return data;
    }

    private static double NetworkBytes(Variant v, Operation op, CombineRows rows, int nodes, Workload w) =>
        Traffic.NetworkBytes(v, op, rows, new Routing(new Cluster(nodes, 8), w), w);

    [Theory]
    [MemberData(nameof(Cases))]
    public void More_nodes_put_more_flat_network_bytes_on_each_rank(Operation op, CombineRows rows, int nodeLimit)
    {
        foreach (Workload w in new[] { Workload.LowLatency, Workload.HighThroughput })
        {
            foreach (Variant v in new[] { Variant.FlatFixed, Variant.FlatCountsFirst, Variant.FlatGin })
            {
                double[] bytes = NodeCounts.Select(n => NetworkBytes(v, op, rows, n, w with { NodeLimit = nodeLimit })).ToArray();
                for (int i = 1; i < bytes.Length; i++)
                    Assert.True(bytes[i] > bytes[i - 1], $"{v} {op}: {NodeCounts[i]} nodes put {bytes[i]} B, {NodeCounts[i - 1]} nodes {bytes[i - 1]} B");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Hierarchical_forwarding_never_puts_more_on_the_network_than_flat(Operation op, CombineRows rows, int nodeLimit)
    {
        foreach (Workload baseline in new[] { Workload.LowLatency, Workload.HighThroughput })
        {
            Workload w = baseline with { NodeLimit = nodeLimit };
            foreach (int n in NodeCounts)
            {
                double flat = NetworkBytes(Variant.FlatGin, op, rows, n, w), hier = NetworkBytes(Variant.HierarchicalGin, op, rows, n, w);
                Assert.True(hier < flat, $"{n} nodes, {op}: hierarchical {hier} B, flat {flat} B");
                Assert.True(NetworkBytes(Variant.HierarchicalFixed, op, rows, n, w) < NetworkBytes(Variant.FlatFixed, op, rows, n, w));

                // ... and pays for it on NVLink: every byte it saves is forwarded, and more.
                var routing = new Routing(new Cluster(n, 8), w);
                TokenLegs f = Traffic.PerToken(Variant.FlatGin, op, rows, routing, w), h = Traffic.PerToken(Variant.HierarchicalGin, op, rows, routing, w);
                Assert.Equal(f.Nvlink, h.Nvlink, 6);
                Assert.True(h.Forward > 0 && h.Forward <= f.Network);
            }
        }
    }

    [Fact]
    public void Fixed_slices_send_at_least_the_actual_bytes_and_their_size_does_not_depend_on_routing()
    {
        foreach (int n in NodeCounts)
        {
            foreach (Operation op in new[] { Operation.Dispatch, Operation.Combine })
            {
                Workload w = Workload.LowLatency;
                Assert.True(NetworkBytes(Variant.FlatFixed, op, CombineRows.PerSlot, n, w) >= NetworkBytes(Variant.FlatGin, op, CombineRows.PerSlot, n, w));
                Assert.Equal(NetworkBytes(Variant.FlatFixed, op, CombineRows.PerSlot, n, w),
                    NetworkBytes(Variant.FlatFixed, op, CombineRows.PerSlot, n, w with { NodeLimit = 2 }));
            }
        }
        // 128 tokens to each of 120 network peers: 120 × (128 + 128 × 14,464) bytes per dispatch, whatever the routing.
        Assert.Equal(120 * (128 + (128.0 * 14_464)), NetworkBytes(Variant.FlatFixed, Operation.Dispatch, CombineRows.PerRank, 16, Workload.LowLatency));
    }

    [Fact]
    public void One_node_uses_no_network_and_the_variants_agree()
    {
        var single = new Cluster(1, 8);
        double[] times = Enum.GetValues<Variant>().Where(v => v != Variant.FlatCountsFirst)
            .Select(v => TimeModel.Estimate(v, Operation.Dispatch, CombineRows.PerRank, single, Workload.LowLatency, Hardware.Default))
            .Select(c => { Assert.Equal(0, c.NetworkBytes); Assert.Equal(0, c.NetworkMessages); return c.Microseconds; })
            .ToArray();
        // Only the launch count differs between them: 3 launches for the NCCL-step variants, 1 for GIN.
        Assert.Equal(times[0] - (2 * Hardware.Default.KernelLaunchUs), times[1], 9);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(16)]
    public void Actual_bytes_are_faster_than_fixed_slices_and_counts_first_costs_a_round(int nodes)
    {
        var c = new Cluster(nodes, 8);
        foreach (Workload w in new[] { Workload.LowLatency, Workload.HighThroughput })
        {
            double Us(Variant v) => TimeModel.Estimate(v, Operation.Dispatch, CombineRows.PerRank, c, w, Hardware.Default).Microseconds;
            Assert.True(Us(Variant.FlatGin) < Us(Variant.FlatCountsFirst));
            Assert.True(Us(Variant.FlatCountsFirst) < Us(Variant.FlatFixed));
            Assert.True(Us(Variant.HierarchicalGin) < Us(Variant.HierarchicalFixed));
            Assert.True(Us(Variant.FlatCountsFirst) - Us(Variant.FlatGin) >= Hardware.Default.HostSyncUs);
        }
    }

    [Fact]
    public void Messages_per_operation_follow_the_peer_counts()
    {
        var c = new Cluster(16, 8);
        Assert.Equal(240, Traffic.NetworkMessages(Variant.FlatFixed, c));        // 2R, R = 120
        Assert.Equal(480, Traffic.NetworkMessages(Variant.FlatCountsFirst, c));
        Assert.Equal(120, Traffic.NetworkMessages(Variant.FlatGin, c));
        Assert.Equal(30, Traffic.NetworkMessages(Variant.HierarchicalFixed, c)); // 2(N − 1)
        Assert.Equal(15, Traffic.NetworkMessages(Variant.HierarchicalGin, c));
        Assert.Equal(254, Traffic.NetworkMessages(Variant.FlatFixed, c with { LsaSize = 1 }));   // forced: 127 peers
    }
}
