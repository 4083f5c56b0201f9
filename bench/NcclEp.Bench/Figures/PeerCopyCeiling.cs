using System;
using NcclEp;
using NcclEp.Testing;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.Bench;

/// <summary>
/// The peer-copy ceiling, measured in the same run as the EP phases: for each phase, every rank copies the remote
/// rows it would send each peer (<see cref="PeerCopyBytes"/>) straight into that peer's GPU memory with
/// cuMemcpyPeerAsync (copy engines, no kernel), all ranks and all peers at once, timed with CUDA events like the
/// phases. What EP moves between GPUs cannot go faster than this plain copy of the same bytes, so ceiling time /
/// phase time says how close a phase comes. Created on the main thread once per configuration; measured on the
/// rank threads. Only where every rank has its own GPU in this process (<see cref="NcclFabric"/>), and only for
/// high throughput: a low-latency phase's few rows copy in about the copy's launch time, which bounds nothing (the
/// link bound of <see cref="PeerCopyLink"/> stands in for it there).
/// </summary>
internal sealed class PeerCopyCeiling : IDisposable
{
    private const int DispatchPhase = 0, CombinePhase = 1;
    private readonly PeerCopyBytes _bytes;
    private readonly PeerCopyRank?[] _ranks;

    /// <summary>Why a low-latency run has no ceiling.</summary>
    internal const string LowLatencyReason =
        "low latency: a peer copy of a few small rows times the copy's launch, not the link, so it bounds nothing " +
        "(high-throughput runs only); the link bound stands in for it";

    private PeerCopyCeiling(PeerCopyBytes bytes, int world)
    {
        _bytes = bytes;
        _ranks = new PeerCopyRank?[world];
    }

    /// <summary>The ceiling for these groups, or null with the reason it cannot be measured here.</summary>
    public static PeerCopyCeiling? TryCreate(EpGroup[] groups, PeerCopyBytes bytes, out string reason)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(bytes);
        PeerCopyCeiling? ceiling = null;
        try
        {
            reason = WhyNot(groups);
            if (reason.Length == 0 && groups[0].Config.Mode == EpMode.LowLatency) reason = LowLatencyReason;
            if (reason.Length > 0) return null;
            var contexts = new nint[groups.Length];
            for (int r = 0; r < groups.Length; r++) contexts[r] = ((CudaRankBackend)groups[r].RankBackend).Device.Context;
            EnablePeerAccess(contexts);
            ceiling = new PeerCopyCeiling(bytes, groups.Length);
            for (int r = 0; r < groups.Length; r++) ceiling._ranks[r] = new PeerCopyRank(contexts[r], SendOffsets(bytes, r), ReceiveOffsets(bytes, r));
            return ceiling;
        }
        catch (CudaException e)
        {
            ceiling?.Dispose();
            reason = $"the copies could not be set up ({e.Message})";
            return null;
        }
    }

    /// <summary>
    /// Rank <paramref name="rank"/>'s copy times, µs per timed iteration: [0] the dispatch bytes, [1] the combine
    /// bytes. All ranks meet at <paramref name="barrier"/> before each copy, as before each EP phase.
    /// </summary>
    public double[][] Measure(int rank, RankBarrier barrier, int warmups, int iterations)
    {
        ArgumentNullException.ThrowIfNull(barrier);
        PeerCopyRank me = _ranks[rank]!;
        double[][] times = [new double[iterations], new double[iterations]];
        using CudaContextScope scope = CudaContextScope.Enter(me.Context);
        for (int it = 0; it < warmups + iterations; it++)
        {
            barrier.Wait();
            CopyToPeers(rank, DispatchPhase);
            Check.Cu(CudaDriver.cuStreamSynchronize(me.Stream), "cuStreamSynchronize");
            barrier.Wait();
            CopyToPeers(rank, CombinePhase);
            Check.Cu(CudaDriver.cuStreamSynchronize(me.Stream), "cuStreamSynchronize");
            if (it < warmups) continue;
            times[DispatchPhase][it - warmups] = me.ElapsedMicroseconds(DispatchPhase);
            times[CombinePhase][it - warmups] = me.ElapsedMicroseconds(CombinePhase);
        }
        return times;
    }

    /// <summary>Forks one copy per peer off the timing stream and joins them back, between the phase's events.</summary>
    private void CopyToPeers(int rank, int phase)
    {
        PeerCopyRank me = _ranks[rank]!;
        Check.Cu(CudaDriver.cuEventRecord(me.Begin[phase], me.Stream), "cuEventRecord");
        for (int p = 0; p < _ranks.Length; p++)
        {
            long bytes = phase == DispatchPhase ? _bytes.Dispatch(rank, p) : _bytes.Combine(rank, p);
            if (p == rank || bytes == 0) continue;
            PeerCopyRank peer = _ranks[p]!;
            nint stream = me.PeerStreams[p];
            Check.Cu(CudaDriver.cuStreamWaitEvent(stream, me.Begin[phase], 0), "cuStreamWaitEvent");
            Check.Cu(CudaDriver.cuMemcpyPeerAsync(
                peer.Receive + (nint)peer.ReceiveOffsets[rank], peer.Context,
                me.Send + (nint)me.SendOffsets[p], me.Context, (nuint)bytes, stream), "cuMemcpyPeerAsync");
            Check.Cu(CudaDriver.cuEventRecord(me.PeerDone[p], stream), "cuEventRecord");
            Check.Cu(CudaDriver.cuStreamWaitEvent(me.Stream, me.PeerDone[p], 0), "cuStreamWaitEvent");
        }
        Check.Cu(CudaDriver.cuEventRecord(me.End[phase], me.Stream), "cuEventRecord");
    }

    /// <summary>Why these groups cannot copy between their GPUs (no peer-copy ceiling, no link bound), or "" when they can.</summary>
    internal static string WhyNot(EpGroup[] groups)
    {
        if (groups.Length < 2) return "one rank has no peer to copy to";
        if (groups[0].RankBackend is not CudaRankBackend backend)
            return "the Host backend's ranks are threads without GPUs; a peer copy needs --backend cuda with one GPU per rank";
        if (backend.Fabric is not NcclFabric)
        {
            return $"the {groups.Length} ranks share GPU {backend.Device.Ordinal} (fewer GPUs than ranks), so a copy between them " +
                "crosses no link; a peer copy needs one GPU per rank";
        }
        for (int a = 0; a < groups.Length; a++)
        {
            for (int b = 0; b < groups.Length; b++)
            {
                int from = Ordinal(groups[a]), to = Ordinal(groups[b]);
                if (a == b) continue;
                Check.Cu(CudaDriver.cuDeviceCanAccessPeer(out int can, from, to), "cuDeviceCanAccessPeer");
                if (can == 0) return $"GPU {from} cannot access GPU {to} directly (cuDeviceCanAccessPeer), so a peer copy would be staged through the host";
            }
        }
        return string.Empty;
    }

    private static int Ordinal(EpGroup group) => ((CudaRankBackend)group.RankBackend).Device.Ordinal;

    /// <summary>Lets each context's copies reach every other context's memory directly (already enabled is fine).</summary>
    internal static void EnablePeerAccess(nint[] contexts)
    {
        for (int a = 0; a < contexts.Length; a++)
        {
            using CudaContextScope scope = CudaContextScope.Enter(contexts[a]);
            for (int b = 0; b < contexts.Length; b++)
            {
                if (a == b) continue;
                CuResult status = CudaDriver.cuCtxEnablePeerAccess(contexts[b], 0);
                if (status != CuResult.ErrorPeerAccessAlreadyEnabled) Check.Cu(status, "cuCtxEnablePeerAccess");
            }
        }
    }

    /// <summary>[peer]: where the rows rank <paramref name="rank"/> sends that peer start; one more entry: the buffer's size.</summary>
    internal static long[] SendOffsets(PeerCopyBytes bytes, int rank)
    {
        var offsets = new long[bytes.Ranks + 1];
        for (int p = 0; p < bytes.Ranks; p++) offsets[p + 1] = offsets[p] + Math.Max(bytes.Dispatch(rank, p), bytes.Combine(rank, p));
        return offsets;
    }

    /// <summary>[source]: where that source's rows land on rank <paramref name="rank"/>; one more entry: the buffer's size.</summary>
    internal static long[] ReceiveOffsets(PeerCopyBytes bytes, int rank)
    {
        var offsets = new long[bytes.Ranks + 1];
        for (int s = 0; s < bytes.Ranks; s++) offsets[s + 1] = offsets[s] + Math.Max(bytes.Dispatch(s, rank), bytes.Combine(s, rank));
        return offsets;
    }

    public void Dispose()
    {
        foreach (PeerCopyRank? rank in _ranks) rank?.Dispose();
        Array.Clear(_ranks);
    }
}
