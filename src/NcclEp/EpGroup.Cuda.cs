using System;
using System.Collections.Generic;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp;

/// <summary>Creation of Cuda-backend groups.</summary>
public sealed partial class EpGroup
{
    /// <summary>Whether the Cuda backend can run here (driver present, at least one GPU); otherwise why not.</summary>
    public static bool IsCudaAvailable(out string reason) => CudaDriver.TryInitialize(out reason);

    /// <summary>
    /// Creates a Cuda-backend group driven by this process: rank r runs on GPU <paramref name="deviceIds"/>[r]
    /// and must be driven from its own thread. Distinct GPUs are joined by an NCCL communicator and reach
    /// each other through NCCL symmetric windows; ranks outside NCCL's LSA team (another node) are reached
    /// through NCCL send/recv of staging slices (docs/internode.md).
    /// </summary>
    /// <remarks>
    /// If every entry names the same GPU, the ranks are co-located on it (each with its own window): the kernels run
    /// exactly as across GPUs, which tests multi-rank behaviour on one GPU. Co-located ranks wait on each other inside
    /// their kernels, so no rank's kernel may queue behind another's: they need a hardware work queue per rank plus one
    /// (<c>CUDA_DEVICE_MAX_CONNECTIONS</c>, default 8; checked here) and must issue on streams from
    /// <see cref="CreateStream"/>, which puts each on a queue of its own.
    /// </remarks>
    /// <exception cref="EpMemoryException">A GPU has less free memory than <see cref="EpConfig.EstimateMemory"/> says its ranks
    /// need (checked before any window is allocated; see <see cref="EpGroupOptions.CheckMemory"/>).</exception>
    public static EpGroup[] CreateCuda(EpConfig config, ReadOnlySpan<int> deviceIds, EpGroupOptions? options = null)
    {
        int world = deviceIds.Length;
        config.Validate(world);
        options ??= EpGroupOptions.Default;
        options.Validate(nameof(options));
        if (world > CudaKernelParams.MaxWorld)
            ThrowHelper.OutOfRange(nameof(deviceIds), world, $"ranks exceed the Cuda backend's limit of {CudaKernelParams.MaxWorld}");

        bool allSame = true, distinct = true;
        var seen = new HashSet<int>();
        foreach (int id in deviceIds)
        {
            allSame &= id == deviceIds[0];
            distinct &= seen.Add(id);
        }
        if (!allSame && !distinct)
            ThrowHelper.Argument(nameof(deviceIds), "Give each rank its own GPU, or every rank the same GPU (co-located); a mix is not supported.");
        if (allSame && world > 1 && options.EmulatedNetwork(world) is string emulated)
        {
            ThrowHelper.Argument(nameof(deviceIds), $"The options' {emulated} ask for network peers (NCCL send/recv), which needs one GPU per rank; ranks co-located on one GPU have no network path. Give each rank its own GPU or leave the topology as it is.");
        }

        if (allSame && world > 1)
            ColocatedFabric.ThrowIfTooFewHardwareQueues(world, Environment.GetEnvironmentVariable(ColocatedFabric.ConnectionsVariable));

        // Before any window: a GPU that cannot hold its ranks' memory is refused with the numbers, not half-filled.
        using DeviceMemoryCheck? memory = options.CheckMemory ? DeviceMemoryCheck.Run(deviceIds, config.EstimateMemory(world)) : null;
        CudaFabric fabric = allSame && world > 1
            ? new ColocatedFabric(config, world, deviceIds[0])
            : NcclFabric.Create(config, deviceIds.ToArray(), options);
        var groups = new EpGroup[world];
        try
        {
            var modules = new Dictionary<int, CudaKernelModule>();
            for (int r = 0; r < world; r++)
            {
                CudaDevice device = fabric.Device(r);
                if (!modules.TryGetValue(device.Ordinal, out CudaKernelModule? module))
                {
                    module = new CudaKernelModule(device, config, options);
                    modules.Add(device.Ordinal, module);
                    fabric.Own(module);
                }
                var backend = new CudaRankBackend(fabric, r, module, options);
                groups[r] = new EpGroup(config, r, world, backend, options);
                groups[r].CompileReport = module.Report;
                groups[r].FabricDescription = fabric.Describe() + backend.RouteNote;
            }
        }
        catch
        {
            foreach (EpGroup? g in groups) g?.Dispose();
            if (groups[0] is null) fabric.Dispose();
            throw;
        }
        return groups;
    }

    /// <summary>Cuda: how the kernels were obtained (cache file, compile time); null on the Host backend.</summary>
    internal CompileReport? CompileReport { get; private set; }

    /// <summary>What connects the ranks (for logs and the bench).</summary>
    public string FabricDescription { get; private set; } = "host threads";
}
