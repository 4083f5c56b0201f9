namespace NcclEp.InternodeModel;

/// <summary>Link speeds and latencies. 1 GB/s = 10^9 B/s. Every figure is an assumption to be replaced by a measurement.</summary>
public sealed record Hardware
{
    /// <summary>NIC line rate per GPU: 400 Gb/s = 50 GB/s each way.</summary>
    public double NicLineRateGBps { get; init; } = 50;

    /// <summary>Achieved network bandwidth per GPU each way (DeepEP reports 43-58 GB/s "RDMA" on 400 Gb/s CX7).</summary>
    public double NetworkGBps { get; init; } = 46;

    /// <summary>NVLink all-to-all bandwidth per GPU each way: a conservative share of the 392 GB/s that one
    /// H200 pair copy measured (DESIGN.md); stores to 7 peers through the switch at once reach less.</summary>
    public double NvlinkGBps { get; init; } = 300;

    /// <summary>Device-local copy (pack into out slices, unpack from in slices and the window), bytes copied per second.</summary>
    public double LocalCopyGBps { get; init; } = 1500;

    /// <summary>α of the network: one-way latency of a message through NCCL's proxy and the NIC.</summary>
    public double NetworkLatencyUs { get; init; } = 5;

    /// <summary>Issue cost of each ncclSend or ncclRecv of one group (the host proxy serves them one after another).</summary>
    public double NetworkMessageUs { get; init; } = 0.5;

    /// <summary>Issue cost of each device-initiated put (GIN) with its signal.</summary>
    public double GinMessageUs { get; init; } = 0.1;

    /// <summary>α of NVLink: a flag released by one GPU and seen by another, with the phase's grid barrier.</summary>
    public double NvlinkLatencyUs { get; init; } = 2;

    /// <summary>One kernel launch inside a CUDA Graph (NCCL's send/recv runs as its own kernel).</summary>
    public double KernelLaunchUs { get; init; } = 2;

    /// <summary>Host round trip to read counts from the GPU before sizing sends (counts-first only; not capturable).</summary>
    public double HostSyncUs { get; init; } = 20;

    /// <summary>The defaults above.</summary>
    public static Hardware Default { get; } = new();
}
