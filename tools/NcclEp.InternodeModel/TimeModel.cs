using System;
namespace NcclEp.InternodeModel;

/// <summary>Modelled cost of one operation on one rank.</summary>
/// <param name="Microseconds">Estimated time of the operation.</param>
/// <param name="NetworkBytes">Bytes this rank sends on its NIC (and receives: the traffic is symmetric).</param>
/// <param name="NvlinkBytes">Bytes this rank stores over NVLink (own team + forwarding).</param>
/// <param name="NetworkMessages">ncclSend + ncclRecv, or puts, that this rank issues.</param>
public readonly record struct OperationCost(double Microseconds, double NetworkBytes, double NvlinkBytes, int NetworkMessages);

/// <summary>
/// Time of one operation as the sum of its stream-ordered steps (expected traffic, every rank alike: no straggler).
/// </summary>
/// <remarks>
/// <code>
/// nvl(b)        = α_nvl + b / B_nvl                    net(b, m, g) = α_net + m·g + b / B_net   (0 when m = 0)
/// copy          = (packed + landed bytes) / B_copy     λ = one kernel launch
/// flat fixed    = 3λ + nvl(own) + net(R slices, 2R, g_p2p) + copy
/// counts first  = 4λ + nvl(own) + net(R headers, 2R, g_p2p) + host sync + net(actual, 2R, g_p2p) + copy
/// flat GIN      = λ  + max(nvl(own), net(actual, R, g_gin)) + copy
/// hier. fixed   = 3λ + nvl(own) + net((N−1) slices, 2(N−1), g_p2p) + nvl(forward) + copy
/// hier. GIN     = λ  + max(nvl(own + forward), net(actual, N−1, g_gin) + α_nvl) + copy
/// </code>
/// </remarks>
public static class TimeModel
{
    public static OperationCost Estimate(Variant variant, Operation op, CombineRows rows, Cluster cluster, Workload workload, Hardware hw)
    {
        ArgumentNullException.ThrowIfNull(workload);
        ArgumentNullException.ThrowIfNull(hw);
        var routing = new Routing(cluster, workload);
        TokenLegs legs = Traffic.PerToken(variant, op, rows, routing, workload);
        int t = workload.TokensPerRank;
        double own = t * legs.Nvlink, forward = t * legs.Forward, actual = t * legs.Network;
        double wire = Traffic.NetworkBytes(variant, op, rows, routing, workload);
        int messages = Traffic.NetworkMessages(variant, cluster);
        double launches = Traffic.Launches(variant) * hw.KernelLaunchUs;
        double copy = (actual + (t * legs.Landed)) / Rate(hw.LocalCopyGBps);

        double us = variant switch
        {
            Variant.FlatFixed => launches + Nvl(own, hw) + Net(wire, messages, hw.NetworkMessageUs, hw) + copy,
            Variant.FlatCountsFirst => launches + Nvl(own, hw)
                + Net(cluster.NetworkPeers * (double)StagingLayout.SliceHeaderAlign, messages / 2, hw.NetworkMessageUs, hw)
                + (messages > 0 ? hw.HostSyncUs : 0) + Net(wire, messages / 2, hw.NetworkMessageUs, hw) + copy,
            Variant.FlatGin => launches + Math.Max(Nvl(own, hw), Net(wire, messages, hw.GinMessageUs, hw)) + copy,
            Variant.HierarchicalFixed => launches + Nvl(own, hw) + Net(wire, messages, hw.NetworkMessageUs, hw)
                + (messages > 0 ? Nvl(forward, hw) : 0) + copy,
            Variant.HierarchicalGin => launches + Math.Max(Nvl(own + forward, hw),
                messages > 0 ? Net(wire, messages, hw.GinMessageUs, hw) + hw.NvlinkLatencyUs : 0) + copy,
            _ => throw new ArgumentOutOfRangeException(nameof(variant), variant, null),
        };
        return new OperationCost(us, wire, own + forward, messages);
    }

    /// <summary>Bytes per microsecond at <paramref name="gbps"/> GB/s.</summary>
    public static double Rate(double gbps) => gbps * 1e3;

    private static double Nvl(double bytes, Hardware hw) => hw.NvlinkLatencyUs + (bytes / Rate(hw.NvlinkGBps));

    private static double Net(double bytes, int messages, double perMessageUs, Hardware hw) =>
        messages == 0 ? 0 : hw.NetworkLatencyUs + (messages * perMessageUs) + (bytes / Rate(hw.NetworkGBps));
}
