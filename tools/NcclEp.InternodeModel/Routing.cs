using System;
namespace NcclEp.InternodeModel;

/// <summary>
/// Where one token goes, in expectation, when its K experts are drawn uniformly without replacement (exact).
/// </summary>
/// <remarks>
/// A given rank holds L = E/W of the pool's experts, so it receives nothing with probability
/// C(pool − L, K) / C(pool, K); likewise a node with its G·L experts. With a node limit n the pool is the
/// n·G·L experts of n nodes chosen uniformly, and a rank or node is in that pool with probability n/N.
/// By symmetry every rank sees the same expectations, as sender and as receiver.
/// </remarks>
public readonly record struct Routing
{
    public Routing(Cluster cluster, Workload workload)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(workload);
        if (workload.Experts % cluster.World != 0)
            throw new ArgumentException($"{workload.Experts} experts do not divide over {cluster.World} ranks.", nameof(workload));
        Cluster = cluster;
        TopK = workload.TopK;
        LocalExperts = workload.Experts / cluster.World;
        int chosenNodes = workload.NodeLimit > 0 ? Math.Min(workload.NodeLimit, cluster.Nodes) : cluster.Nodes;
        int pool = chosenNodes * cluster.GpusPerNode * LocalExperts;
        if (TopK > pool)
            throw new ArgumentException($"Top-{TopK} does not fit in the {pool} experts a token may choose from.", nameof(workload));
        double inPool = chosenNodes / (double)cluster.Nodes;
        RankHit = inPool * (1 - MissProbability(pool, LocalExperts, TopK));
        NodeHit = inPool * (1 - MissProbability(pool, cluster.GpusPerNode * LocalExperts, TopK));
    }

    public Cluster Cluster { get; }
    public int TopK { get; }

    /// <summary>Experts per rank (L).</summary>
    public int LocalExperts { get; }

    /// <summary>P(a given rank holds at least one of a token's experts) = p_r.</summary>
    public double RankHit { get; }

    /// <summary>P(a given node holds at least one of a token's experts) = p_n.</summary>
    public double NodeHit { get; }

    /// <summary>E[distinct destination ranks of a token], itself included: W·p_r.</summary>
    public double Ranks => Cluster.World * RankHit;

    /// <summary>E[distinct destination ranks among the sender's LSA peers, itself excluded]: (lsaSize − 1)·p_r.</summary>
    public double LsaPeers => (Cluster.LsaSize - 1) * RankHit;

    /// <summary>E[distinct destination ranks among the network peers]: (W − lsaSize)·p_r.</summary>
    public double NetworkPeers => Cluster.NetworkPeers * RankHit;

    /// <summary>E[distinct destination nodes, the sender's own included]: N·p_n.</summary>
    public double Nodes => Cluster.Nodes * NodeHit;

    /// <summary>E[distinct destination nodes other than the sender's]: (N − 1)·p_n.</summary>
    public double RemoteNodes => (Cluster.Nodes - 1) * NodeHit;

    /// <summary>E[top-k slots whose expert is on one given rank] = K/W (each slot is equally likely on every rank).</summary>
    public double SlotsPerRank => TopK / (double)Cluster.World;

    /// <summary>C(pool − held, picks) / C(pool, picks): none of <paramref name="picks"/> distinct draws from
    /// <paramref name="pool"/> items lands on the <paramref name="held"/> marked ones.</summary>
    public static double MissProbability(int pool, int held, int picks)
    {
        double p = 1;
        for (int i = 0; i < picks; i++)
        {
            if (pool - held - i <= 0) return 0;
            p *= (pool - held - i) / (double)(pool - i);
        }
        return p;
    }
}
