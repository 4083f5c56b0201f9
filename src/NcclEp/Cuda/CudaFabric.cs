using System;
using NcclEp.Backend;

namespace NcclEp.Cuda;

/// <summary>
/// The symmetric windows of every rank of a Cuda group and how each rank addresses its peers' windows.
/// Two kinds: <see cref="NcclFabric"/> (one GPU per rank, peers through NCCL window LSA addresses) and
/// <see cref="ColocatedFabric"/> (every rank on one GPU: for testing the kernels with several ranks).
/// </summary>
internal abstract class CudaFabric : IDisposable
{
    private readonly System.Collections.Generic.List<IDisposable> _owned = new();
    private int _liveRanks;

    protected CudaFabric(in EpConfig config, int worldSize) : this(config, worldSize, worldSize)
    {
    }

    /// <param name="config">The group's configuration.</param>
    /// <param name="worldSize">Ranks in the group.</param>
    /// <param name="localRanks">Ranks of the group that live in this process (each calls <see cref="ReleaseRank"/> once):
    /// all of them, or 1 for <see cref="NcclProcessFabric"/> (one process per rank), whose Device/Window/PeerWindow
    /// answer for that rank only.</param>
    protected CudaFabric(in EpConfig config, int worldSize, int localRanks)
    {
        Config = config;
        WorldSize = worldSize;
        Layout = new WindowLayout(config, worldSize);
        _liveRanks = localRanks;
    }

    public EpConfig Config { get; }
    public int WorldSize { get; }
    public WindowLayout Layout { get; }

    /// <summary>How many ranks share one GPU (the grid of each is sized so all of them stay resident).</summary>
    public abstract int RanksPerDevice { get; }

    public abstract CudaDevice Device(int rank);

    /// <summary>Rank <paramref name="rank"/>'s own window (device address in its context).</summary>
    public abstract nint Window(int rank);

    /// <summary>Peer <paramref name="peer"/>'s window as rank <paramref name="rank"/> addresses it.</summary>
    public abstract nint PeerWindow(int rank, int peer);

    /// <summary>Bit r set: rank <paramref name="rank"/> reaches peer r through NCCL send/recv (its <see cref="PeerWindow"/> is 0).</summary>
    public virtual ulong NetworkMask(int rank) => 0;

    /// <summary>Rank <paramref name="rank"/>'s NCCL communicator (the network path's send/recv run on it); 0 where there is none.</summary>
    public virtual nint Communicator(int rank) => 0;

    /// <summary>
    /// Ends rank <paramref name="rank"/>'s NCCL communicator now (ncclCommAbort), from any thread: NCCL's pending
    /// send/recv return, and nothing uses the communicator again (disposal skips what needs it).
    /// </summary>
    public virtual void AbortCommunicator(int rank) =>
        throw new InvalidOperationException($"{GetType().Name} has no NCCL communicator to abort.");

    /// <summary>One line for logs and the bench: what connects the ranks.</summary>
    public abstract string Describe();

    /// <summary>Called once per rank at disposal; the last one releases everything.</summary>
    public void ReleaseRank()
    {
        if (System.Threading.Interlocked.Decrement(ref _liveRanks) == 0) Dispose();
    }

    /// <summary>Ties something (the compiled kernels) to the fabric's lifetime: released before the windows.</summary>
    public void Own(IDisposable resource) => _owned.Add(resource);

    public void Dispose()
    {
        foreach (IDisposable resource in _owned) resource.Dispose();
        _owned.Clear();
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);
}
