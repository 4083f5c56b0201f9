using System;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// Every rank on one GPU, each with its own window from cuMemAlloc; a peer's window is a plain device
/// pointer. The kernels run exactly as across GPUs (same flags, same layouts), which lets a single GPU
/// check multi-rank semantics bit for bit against the Host backend.
/// </summary>
internal sealed class ColocatedFabric : CudaFabric
{
    private readonly CudaDevice _device;
    private readonly CudaBuffer[] _windows;

    public ColocatedFabric(in EpConfig config, int worldSize, int deviceOrdinal) : base(config, worldSize)
    {
        _device = new CudaDevice(deviceOrdinal);
        Streams = new ColocatedStreams(_device);
        _windows = new CudaBuffer[worldSize];
        try
        {
            for (int r = 0; r < worldSize; r++)
            {
                _windows[r] = CudaBuffer.Allocate(_device, Layout.TotalBytes);
                _windows[r].Fill(0);
            }
            WindowSetup.InitializeControl(this);
        }
        catch
        {
            Dispose(true);
            throw;
        }
    }

    public override int RanksPerDevice => WorldSize;

    /// <summary>The ranks' streams (<see cref="EpGroup.CreateStream"/>), each checked to have a hardware work queue of its own.</summary>
    public ColocatedStreams Streams { get; }

    /// <summary>What the driver reads, when it creates a context, for its number of hardware work queues (1 to 32, default 8).</summary>
    public const string ConnectionsVariable = "CUDA_DEVICE_MAX_CONNECTIONS";

    /// <summary>The hardware work queues a context gets for <paramref name="setting"/> (the variable's value, or null).</summary>
    internal static int HardwareQueues(string? setting) =>
        int.TryParse(setting, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int queues) && queues > 0
            ? Math.Min(queues, 32)
            : 8;

    /// <summary>
    /// Co-located ranks wait on each other inside their kernels, so no rank's stream may share a hardware work queue
    /// with another's: with one queue for four ranks every HT case timed out on an H200 (run 27,
    /// bench/results/colocated-h200-x2-2026-11-24-runs26-29.md). W rank streams plus the device's transfer stream
    /// ask for W + 1 queues.
    /// </summary>
    public static void ThrowIfTooFewHardwareQueues(int world, string? setting)
    {
        int queues = HardwareQueues(setting);
        if (world + 1 <= queues) return;
        string now = string.IsNullOrEmpty(setting) ? "unset, so the driver's default of 8" : $"{setting}, so {queues}";
        string fix = world + 1 <= 32
            ? $"Set {ConnectionsVariable}={world + 1} (up to 32) before CUDA starts in this process, and give each rank a stream from EpGroup.CreateStream."
            : "At most 31 ranks can be co-located on one GPU (the driver's limit is 32 queues); give the ranks more GPUs.";
        ThrowHelper.Argument("deviceIds",
            $"{world} ranks co-located on one GPU need a hardware work queue each, and NcclEp's copies one more: {world + 1}. {ConnectionsVariable} is {now}. " +
            $"With fewer, a rank's kernel can queue behind a peer's kernel that waits for it. {fix}");
    }

    public override CudaDevice Device(int rank) => _device;

    public override nint Window(int rank) => _windows[rank].Pointer;

    public override nint PeerWindow(int rank, int peer) => _windows[peer].Pointer;

    public override string Describe() => $"{WorldSize} ranks co-located on GPU {_device.Ordinal} ({_device.Name}, {_device.Architecture})";

    protected override void Dispose(bool disposing)
    {
        foreach (CudaBuffer? w in _windows) w?.Dispose();
        Streams?.Dispose();
        _device.Dispose();
    }
}
