using System;
using System.Collections.Generic;
using NcclEp.Interop;

namespace NcclEp.Cuda;

/// <summary>
/// Refuses, before any window is allocated, a configuration that a GPU cannot hold: reads each GPU's free memory
/// (cuMemGetInfo in its primary context) and compares it with the estimate for the ranks placed on it. The primary
/// contexts stay retained until disposal, so the fabric created next finds them alive instead of creating them again.
/// </summary>
internal sealed class DeviceMemoryCheck : IDisposable
{
    private readonly List<int> _retained = new();

    private DeviceMemoryCheck()
    {
    }

    /// <summary>Checks every GPU in <paramref name="deviceIds"/> (rank r on <paramref name="deviceIds"/>[r]).</summary>
    /// <exception cref="EpMemoryException">A GPU has less free memory than its ranks need.</exception>
    public static DeviceMemoryCheck Run(ReadOnlySpan<int> deviceIds, in EpMemoryEstimate perGroup)
    {
        CudaDriver.Initialize();
        Check.Cu(CudaDriver.cuDeviceGetCount(out int count), "cuDeviceGetCount");
        var ranksOn = new SortedDictionary<int, int>();
        foreach (int id in deviceIds)
        {
            if ((uint)id >= (uint)count) ThrowHelper.OutOfRange(nameof(deviceIds), id, $"is not a CUDA device: this machine has {count}");
            ranksOn[id] = ranksOn.TryGetValue(id, out int n) ? n + 1 : 1;
        }

        var check = new DeviceMemoryCheck();
        try
        {
            foreach ((int device, int ranks) in ranksOn) check.ThrowIfTooSmall(device, perGroup.ForRanks(ranks));
            return check;
        }
        catch
        {
            check.Dispose();
            throw;
        }
    }

    private void ThrowIfTooSmall(int device, in EpMemoryEstimate estimate)
    {
        Check.Cu(CudaDriver.cuDevicePrimaryCtxRetain(out nint context, device), "cuDevicePrimaryCtxRetain");
        _retained.Add(device);
        using CudaContextScope scope = CudaContextScope.Enter(context);
        Check.Cu(CudaDriver.cuMemGetInfo_v2(out nuint free, out _), "cuMemGetInfo_v2");
        if (estimate.TotalBytes > (long)free)
            throw new EpMemoryException(estimate, (long)free, $"GPU {device} ({CudaDriver.GetDeviceName(device)})", "cuMemGetInfo free memory");
    }

    /// <summary>Releases the primary contexts this check retained.</summary>
    public void Dispose()
    {
        foreach (int device in _retained) _ = CudaDriver.cuDevicePrimaryCtxRelease_v2(device);
        _retained.Clear();
    }
}
