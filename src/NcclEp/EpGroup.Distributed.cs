using System;
using System.Diagnostics.CodeAnalysis;
using NcclEp.Cuda;
using NcclEp.Distributed;
using NcclEp.Interop;

namespace NcclEp;

/// <summary>Creation of a Cuda-backend rank whose peers are other processes (one process per GPU).</summary>
public sealed partial class EpGroup
{
    /// <summary>
    /// Creates this process's rank of a Cuda-backend group whose ranks are separate processes, one GPU each (the
    /// way cluster launchers start jobs). Collective: every rank calls it with the same configuration and world
    /// size. Rank 0 makes the NCCL unique id (ncclGetUniqueId) and <paramref name="rendezvous"/> carries it to every
    /// rank; each joins the communicator (ncclCommInitRank), registers its symmetric window (ncclCommWindowRegister)
    /// and reaches its peers at the window's LSA addresses, which are proven by a stamp exchange before the group is
    /// returned. Every process must be on one NVLink domain (one node).
    /// </summary>
    /// <param name="config">The group's configuration (the same on every rank).</param>
    /// <param name="rank">This process's rank, 0..<paramref name="worldSize"/>-1 (the same as the rendezvous').</param>
    /// <param name="worldSize">Processes in the group (the same as the rendezvous').</param>
    /// <param name="deviceOrdinal">The GPU this rank runs on (usually the local rank).</param>
    /// <param name="rendezvous">How the processes meet (<see cref="EpRendezvous.FromEnvironment(EpRendezvousOptions?, TimeSpan?)"/>,
    /// <see cref="EpRendezvous.File"/>, <see cref="EpRendezvous.Tcp"/>). It stays the caller's; it may be used for
    /// further groups (every rank must then create them in the same order).</param>
    /// <param name="options">Settings of the group.</param>
    /// <returns>This process's rank; drive it from one thread. Dispose it on every rank.</returns>
    /// <exception cref="ArgumentException">A bad argument (named), checked before anything is touched.</exception>
    /// <exception cref="EpException">The Cuda backend cannot run in this process (no driver, no GPU, no NCCL): thrown
    /// before joining the rendezvous, so the other ranks fail there with a time-out; or the peer addressing check failed.
    /// <see cref="EpMemoryException"/> (also before the rendezvous): the GPU has less free memory than the rank needs.</exception>
    /// <exception cref="EpRendezvousException">The ranks did not meet.</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = ApiDesignJustifications.OverloadsDifferInRequiredParameters)]
    public static EpGroup CreateCudaRank(EpConfig config, int rank, int worldSize, int deviceOrdinal, EpRendezvous rendezvous, EpGroupOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(rendezvous);
        if (worldSize < 1 || worldSize > CudaKernelParams.MaxWorld)
            ThrowHelper.OutOfRange(nameof(worldSize), worldSize, $"must be 1..{CudaKernelParams.MaxWorld} (the Cuda backend's limit)");
        if ((uint)rank >= (uint)worldSize)
            ThrowHelper.OutOfRange(nameof(rank), rank, $"must be 0..{worldSize - 1} (world size {worldSize})");
        if (deviceOrdinal < 0)
            ThrowHelper.OutOfRange(nameof(deviceOrdinal), deviceOrdinal, "must be a CUDA device index (0 or more)");
        if (rendezvous.Rank != rank || rendezvous.WorldSize != worldSize)
        {
            ThrowHelper.Argument(nameof(rendezvous),
                $"The rendezvous is for rank {rendezvous.Rank} of {rendezvous.WorldSize}; this call is for rank {rank} of {worldSize}. Give both the same rank and world size.");
        }
        config.Validate(worldSize);
        options ??= EpGroupOptions.Default;
        options.Validate(nameof(options));

        // What this process lacks is reported before it joins: the other ranks then stop at the rendezvous (bounded)
        // instead of inside NCCL's initialisation.
        if (!IsCudaAvailable(out string reason))
            throw new EpException($"Rank {rank} of {worldSize}: the Cuda backend cannot run in this process, so it did not join the rendezvous at {rendezvous.Address} (the other ranks will time out there): {reason}");
        if (!Nccl.TryLoad(out string noNccl))
            throw new EpException($"Rank {rank} of {worldSize}: the Cuda backend needs NCCL for a group of processes, so it did not join the rendezvous at {rendezvous.Address} (the other ranks will time out there): {noNccl}");
        Check.Cu(CudaDriver.cuDeviceGetCount(out int devices), "cuDeviceGetCount");
        if (deviceOrdinal >= devices)
            ThrowHelper.OutOfRange(nameof(deviceOrdinal), deviceOrdinal, $"is not a CUDA device of this process: it sees {devices} (check CUDA_VISIBLE_DEVICES and LOCAL_RANK)");

        using DeviceMemoryCheck? memory = options.CheckMemory ? DeviceMemoryCheck.Run([deviceOrdinal], config.EstimateMemory(worldSize)) : null;
        byte[] idBytes = rendezvous.Share(() => Nccl.CreateUniqueId().ToArray());
        if (idBytes.Length != NcclUniqueId.Size)
            throw new EpException($"Rank {rank} of {worldSize}: the rendezvous at {rendezvous.Address} delivered {idBytes.Length} bytes; an NCCL unique id is {NcclUniqueId.Size}.");
        NcclUniqueId id = NcclUniqueId.FromBytes(idBytes);

        NcclProcessFabric? fabric = null;
        try
        {
            fabric = NcclProcessFabric.Create(config, rank, worldSize, deviceOrdinal, id, rendezvous, options);
            var module = new CudaKernelModule(fabric.Device(rank), config, options);
            fabric.Own(module);
            string description = fabric.Describe();
            var backend = new CudaRankBackend(fabric, rank, module, options);
            var group = new EpGroup(config, rank, worldSize, backend, options);
            fabric = null; // the group's backend releases it now
            group.CompileReport = module.Report;
            group.FabricDescription = description + backend.RouteNote;
            return group;
        }
        catch (Exception e)
        {
            fabric?.Dispose();
            if (e is not EpRendezvousException) rendezvous.Abort($"rank {rank} could not create its group: {e.Message}");
            throw;
        }
    }

    /// <summary>
    /// As <see cref="CreateCudaRank(EpConfig, int, int, int, EpRendezvous, EpGroupOptions?)"/> with the rank and world
    /// size of <paramref name="rendezvous"/> and its local rank as the GPU (e.g. from <see cref="EpRendezvous.FromEnvironment(EpRendezvousOptions?, TimeSpan?)"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The rendezvous does not know this process's local rank.</exception>
    [SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = ApiDesignJustifications.OverloadsDifferInRequiredParameters)]
    public static EpGroup CreateCudaRank(EpConfig config, EpRendezvous rendezvous, EpGroupOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(rendezvous);
        if (rendezvous.LocalRank < 0)
        {
            ThrowHelper.Argument(nameof(rendezvous),
                "The rendezvous does not know this process's local rank (LOCAL_RANK is not set), so it cannot pick the GPU; pass deviceOrdinal.");
        }
        return CreateCudaRank(config, rendezvous.Rank, rendezvous.WorldSize, rendezvous.LocalRank, rendezvous, options);
    }
}
