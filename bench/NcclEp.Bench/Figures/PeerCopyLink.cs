using System;
using NcclEp;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.Bench;

/// <summary>
/// Measures the link the phases' remote rows cross: one 1 GiB cuMemcpyPeerAsync from rank 0's GPU straight into rank
/// 1's (copy engines, nothing else running), timed with CUDA events. At this size the copy's launch is noise and the
/// time is the transfer's, unlike the peer-copy ceiling of a low-latency phase's few rows, which is mostly launch.
/// On the main thread, between creating the groups and the timed phases. Only where ranks have their own GPUs in this
/// process (<see cref="PeerCopyCeiling.WhyNot"/>).
/// </summary>
internal static unsafe class PeerCopyLink
{
    public const int Warmups = 2, Iterations = 10;

    /// <summary>The link between rank 0's and rank 1's GPUs, or why it cannot be measured here.</summary>
    public static LinkResult Measure(EpGroup[] groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        string why = PeerCopyCeiling.WhyNot(groups);
        if (why.Length > 0) return LinkResult.Skipped(why);
        nint from = ((CudaRankBackend)groups[0].RankBackend).Device.Context, to = ((CudaRankBackend)groups[1].RankBackend).Device.Context;
        nint source = 0, destination = 0, stream = 0, begin = 0, end = 0;
        try
        {
            PeerCopyCeiling.EnablePeerAccess([from, to]);
            using (CudaContextScope scope = CudaContextScope.Enter(to))
            {
                Check.Cu(CudaDriver.cuMemAlloc_v2(out destination, (nuint)LinkResult.CopyBytes), "cuMemAlloc_v2 (1 GiB link copy)");
            }
            using CudaContextScope fromScope = CudaContextScope.Enter(from);
            Check.Cu(CudaDriver.cuMemAlloc_v2(out source, (nuint)LinkResult.CopyBytes), "cuMemAlloc_v2 (1 GiB link copy)");
            Check.Cu(CudaDriver.cuMemsetD8_v2(source, 0x3C, (nuint)LinkResult.CopyBytes), "cuMemsetD8_v2");
            Check.Cu(CudaDriver.cuStreamCreate(out stream, CuStreamFlags.NonBlocking), "cuStreamCreate");
            Check.Cu(CudaDriver.cuEventCreate(out begin, CuEventFlags.Default), "cuEventCreate");
            Check.Cu(CudaDriver.cuEventCreate(out end, CuEventFlags.Default), "cuEventCreate");
            Check.Cu(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
            var times = new double[Iterations];
            for (int it = 0; it < Warmups + Iterations; it++)
            {
                Check.Cu(CudaDriver.cuEventRecord(begin, stream), "cuEventRecord");
                Check.Cu(CudaDriver.cuMemcpyPeerAsync(destination, to, source, from, (nuint)LinkResult.CopyBytes, stream), "cuMemcpyPeerAsync");
                Check.Cu(CudaDriver.cuEventRecord(end, stream), "cuEventRecord");
                Check.Cu(CudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize");
                if (it < Warmups) continue;
                Check.Cu(CudaDriver.cuEventElapsedTime_v2(out float ms, begin, end), "cuEventElapsedTime_v2");
                times[it - Warmups] = ms * 1000.0;
            }
            return new LinkResult(null, PhaseStats.Of(times));
        }
        catch (CudaException e)
        {
            return LinkResult.Skipped($"the 1 GiB peer copy failed ({e.Message})");
        }
        finally
        {
            using (CudaContextScope scope = CudaContextScope.TryEnter(from, out _))
            {
                if (stream != 0) _ = CudaDriver.cuStreamSynchronize(stream);
                if (begin != 0) _ = CudaDriver.cuEventDestroy_v2(begin);
                if (end != 0) _ = CudaDriver.cuEventDestroy_v2(end);
                if (stream != 0) _ = CudaDriver.cuStreamDestroy_v2(stream);
                if (source != 0) _ = CudaDriver.cuMemFree_v2(source);
            }
            using (CudaContextScope scope = CudaContextScope.TryEnter(to, out _))
            {
                if (destination != 0) _ = CudaDriver.cuMemFree_v2(destination);
            }
        }
    }
}
