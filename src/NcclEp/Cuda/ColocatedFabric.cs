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

    public override CudaDevice Device(int rank) => _device;

    public override nint Window(int rank) => _windows[rank].Pointer;

    public override nint PeerWindow(int rank, int peer) => _windows[peer].Pointer;

    public override string Describe() => $"{WorldSize} ranks co-located on GPU {_device.Ordinal} ({_device.Name}, {_device.Architecture})";

    protected override void Dispose(bool disposing)
    {
        foreach (CudaBuffer? w in _windows) w?.Dispose();
        _device.Dispose();
    }
}
