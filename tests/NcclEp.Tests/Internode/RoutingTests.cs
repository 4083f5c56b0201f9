using System;
using System.Collections.Generic;
using System.Linq;
using NcclEp.InternodeModel;
using Xunit;

namespace NcclEp.Tests.Internode;

/// <summary>The routing expectations against exact enumeration (small cases) and sampling (the documented case).</summary>
public class RoutingTests
{
    /// <summary>Every K-subset of the pool's experts, equally likely; nodes of the pool chosen equally likely.</summary>
    private static (double Ranks, double Nodes) Enumerate(Cluster c, int experts, int topK, int nodeLimit)
    {
        int local = experts / c.World, perNode = c.GpusPerNode * local;
        int chosen = nodeLimit > 0 ? Math.Min(nodeLimit, c.Nodes) : c.Nodes;
        double ranks = 0, nodes = 0;
        long cases = 0;
        foreach (int[] nodeSet in Subsets(Enumerable.Range(0, c.Nodes).ToArray(), chosen))
        {
            int[] pool = nodeSet.SelectMany(n => Enumerable.Range(n * perNode, perNode)).ToArray();
            foreach (int[] pick in Subsets(pool, topK))
            {
                ranks += pick.Select(e => e / local).Distinct().Count();
                nodes += pick.Select(e => e / perNode).Distinct().Count();
                cases++;
            }
        }
        return (ranks / cases, nodes / cases);
    }

    private static IEnumerable<int[]> Subsets(int[] items, int k)
    {
        var index = Enumerable.Range(0, k).ToArray();
        while (true)
        {
            yield return index.Select(i => items[i]).ToArray();
            int j = k - 1;
            while (j >= 0 && index[j] == items.Length - k + j) j--;
            if (j < 0) yield break;
            index[j]++;
            for (int i = j + 1; i < k; i++) index[i] = index[i - 1] + 1;
        }
    }

    [Theory]
    [InlineData(2, 2, 8, 3, 0)]
    [InlineData(2, 4, 16, 5, 0)]
    [InlineData(3, 2, 12, 3, 2)]
    [InlineData(4, 2, 16, 4, 2)]
    [InlineData(4, 1, 8, 2, 3)]
    [InlineData(1, 4, 12, 12, 0)]
    public void Expected_distinct_ranks_and_nodes_equal_exact_enumeration(int nodes, int gpus, int experts, int topK, int nodeLimit)
    {
        var cluster = new Cluster(nodes, gpus);
        var routing = new Routing(cluster, new Workload(1, 512, topK, experts, NodeLimit: nodeLimit));
        (double ranks, double nodesHit) = Enumerate(cluster, experts, topK, nodeLimit);
        Assert.Equal(ranks, routing.Ranks, 12);
        Assert.Equal(nodesHit, routing.Nodes, 12);
        Assert.Equal(routing.Ranks, routing.RankHit + routing.LsaPeers + routing.NetworkPeers, 12);
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(16, 0)]
    [InlineData(8, 4)]
    public void Documented_case_agrees_with_sampling(int nodes, int nodeLimit)
    {
        var cluster = new Cluster(nodes, 8);
        var workload = Workload.LowLatency with { NodeLimit = nodeLimit };
        var routing = new Routing(cluster, workload);
        int world = cluster.World, local = workload.Experts / world, perNode = 8 * local;
        int chosen = nodeLimit > 0 ? Math.Min(nodeLimit, nodes) : nodes;
        var random = new Random(20261124);
        const int Samples = 100_000;
        int[] nodeOrder = Enumerable.Range(0, nodes).ToArray();
        var pool = new List<int>();
        long ranks = 0, nodesHit = 0;
        for (int s = 0; s < Samples; s++)
        {
            Shuffle(random, nodeOrder, chosen);
            pool.Clear();
            for (int i = 0; i < chosen; i++) pool.AddRange(Enumerable.Range(nodeOrder[i] * perNode, perNode));
            int[] experts = pool.ToArray();
            Shuffle(random, experts, workload.TopK);
            ranks += experts.Take(workload.TopK).Select(e => e / local).Distinct().Count();
            nodesHit += experts.Take(workload.TopK).Select(e => e / perNode).Distinct().Count();
        }
        // Distinct counts lie in 1..8 (standard deviation at most 3.5): the mean of 10^5 is within 0.04 at over 3.5σ.
        Assert.InRange(ranks / (double)Samples - routing.Ranks, -0.04, 0.04);
        Assert.InRange(nodesHit / (double)Samples - routing.Nodes, -0.04, 0.04);
    }

    /// <summary>The first <paramref name="count"/> items become a uniform sample without replacement.</summary>
    private static void Shuffle(Random random, int[] items, int count)
    {
        for (int i = 0; i < count; i++)
        {
            int j = random.Next(i, items.Length);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    [Fact]
    public void A_rank_holding_every_pool_expert_is_always_hit_and_one_holding_none_never()
    {
        Assert.Equal(0, Routing.MissProbability(16, 16, 3));
        Assert.Equal(1, Routing.MissProbability(16, 0, 3));
        Assert.Equal(0, Routing.MissProbability(10, 8, 3));   // 2 unmarked items cannot take 3 draws
    }
}
