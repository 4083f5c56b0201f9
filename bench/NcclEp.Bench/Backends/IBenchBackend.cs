using System;
using NcclEp;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>
/// What the bench needs from a backend beyond the public API: creating the groups, binding rank threads,
/// streams, memory copies outside <see cref="EpBuffer"/> (the handle's counts live in device memory), and a
/// phase timer. Host: <see cref="HostBenchBackend"/>; Cuda: <c>CudaBenchBackend</c> (added by the lead and
/// created by <see cref="BenchBackends.TryCreateCuda"/>).
/// </summary>
/// <remarks>
/// Every member that takes a rank or a group is called on that rank's own thread (see <see cref="RankThreads"/>),
/// after <see cref="BindRankThread"/> ran on it; <see cref="CreateGroups"/> is called on the main thread and
/// may use the rank threads for collective creation.
/// </remarks>
internal interface IBenchBackend : IDisposable
{
    /// <summary>Short name: "host" or "cuda".</summary>
    string Name { get; }

    /// <summary>The backend and why it runs, for the first output line: e.g. "host (no GPU: libcuda.so.1 not found)".</summary>
    string Describe();

    /// <summary>Called once on each rank thread when it starts (Cuda: make the rank's context current).</summary>
    void BindRankThread(int rank);

    /// <summary>Creates one group per rank for <paramref name="config"/> (control path, may be collective).</summary>
    EpGroup[] CreateGroups(in EpConfig config, int ranks, EpGroupOptions options, RankThreads threads);

    /// <summary>The stream rank <paramref name="rank"/> orders its work on (default stream on Host).</summary>
    EpStream Stream(int rank);

    /// <summary>Device memory for the caller's tensors of this rank.</summary>
    EpBuffer AllocateBuffer(EpGroup group, long bytes);

    /// <summary>Waits until everything queued on the rank's stream has finished.</summary>
    void Synchronize(EpGroup group, EpStream stream);

    /// <summary>A timer for the phases of one rank (Host: Stopwatch; Cuda: CUDA events on the rank's stream).</summary>
    IPhaseTimer CreateTimer(EpGroup group, EpStream stream);

    /// <summary>Copies device bytes at <paramref name="source"/> to host memory (synchronous; stream work before it is done).</summary>
    void CopyToHost(EpGroup group, nint source, Span<byte> destination);

    /// <summary>Copies <paramref name="bytes"/> device bytes (ordered on <paramref name="stream"/>).</summary>
    void CopyDevice(EpGroup group, EpStream stream, nint source, nint destination, long bytes);
}
