using System;
using System.Collections.Generic;
using NcclEp;
using NcclEp.Testing;
using NcclEp.Cuda;
using NcclEp.Interop;

namespace NcclEp.Bench;

/// <summary>
/// The baseline a user would otherwise write, measured in the same run: dispatch as an NCCL all-to-all of
/// per-destination buckets (counts exchanged first with ncclSend/ncclRecv, read back to the host to size
/// the receives, then the rows), combine as the reverse all-to-all of the rows. Buckets are packed before
/// timing (the pack/unpack kernels a real caller also needs are not counted: the baseline is flattered). With
/// --dtype fp8 the dispatch moves the FP8 rows' bytes (hidden + scales, not quantizing them: flattered again).
/// Runs only where ranks have their own GPUs (an NCCL communicator per rank).
/// </summary>
internal sealed unsafe class NcclAllToAllBaseline : IDisposable
{
    private readonly nint _comm, _context, _stream;
    private readonly int _rank, _world;
    private readonly long _rowBytes, _dispatchRowBytes;
    private readonly int[] _sendCounts;
    private readonly nint _send, _recv, _deviceCounts, _hostCounts;
    private readonly nint[] _events = new nint[3];

    private NcclAllToAllBaseline(CudaRankBackend backend, nint comm, int rank, int world, long rowBytes, long dispatchRowBytes, int[] sendCounts, nint stream, long maxRows)
    {
        _dispatchRowBytes = dispatchRowBytes;
        _comm = comm;
        _rank = rank;
        _world = world;
        _rowBytes = rowBytes;
        _sendCounts = sendCounts;
        _stream = stream;
        _context = backend.Device.Context;
        using CudaContextScope scope = CudaContextScope.Enter(_context);
        Check.Cu(CudaDriver.cuMemAlloc_v2(out _send, (nuint)Math.Max(16, maxRows * rowBytes)), "cuMemAlloc_v2");
        Check.Cu(CudaDriver.cuMemAlloc_v2(out _recv, (nuint)Math.Max(16, maxRows * rowBytes)), "cuMemAlloc_v2");
        Check.Cu(CudaDriver.cuMemsetD8_v2(_send, 0x3C, (nuint)Math.Max(16, maxRows * rowBytes)), "cuMemsetD8_v2");
        Check.Cu(CudaDriver.cuMemAlloc_v2(out _deviceCounts, (nuint)(8 * world)), "cuMemAlloc_v2");
        Check.Cu(CudaDriver.cuMemAllocHost_v2(out _hostCounts, (nuint)(4 * world)), "cuMemAllocHost_v2");
        fixed (int* c = sendCounts) Check.Cu(CudaDriver.cuMemcpyHtoD_v2(_deviceCounts, c, (nuint)(4 * world)), "cuMemcpyHtoD_v2");
        for (int i = 0; i < _events.Length; i++) Check.Cu(CudaDriver.cuEventCreate(out _events[i], CuEventFlags.Default), "cuEventCreate");
    }

    /// <summary>A baseline for this rank, or null (with the reason) where the ranks share a GPU.</summary>
    public static NcclAllToAllBaseline? TryCreate(EpGroup group, Traffic traffic, EpStream stream, out string reason)
    {
        reason = string.Empty;
        if (group.RankBackend is not CudaRankBackend backend || backend.Fabric is not NcclFabric fabric)
        {
            reason = "NCCL all-to-all baseline: needs one GPU per rank (ranks are co-located or on the Host backend)";
            return null;
        }
        int world = group.WorldSize, rank = group.Rank;
        var sendCounts = new int[world];
        long rows = 0;
        for (int p = 0; p < world; p++)
        {
            sendCounts[p] = traffic.RecvRankCounts[p][rank];
            rows += Math.Max(sendCounts[p], traffic.RecvRankCounts[rank][p]);
        }
        EpConfig c = group.Config;
        return new NcclAllToAllBaseline(backend, fabric.Communicators[rank], rank, world, Math.Max(c.RowBytes, c.DispatchRowBytes), c.DispatchRowBytes,
            sendCounts, stream.Handle, Math.Max(rows, (long)world * c.MaxTokensPerRank));
    }

    /// <summary>Median µs of (dispatch, combine) over <paramref name="iterations"/> after warm-ups; ranks meet at the barrier before each.</summary>
    public (double Dispatch, double Combine) Measure(RankBarrier barrier, int warmups, int iterations)
    {
        var dispatch = new List<double>();
        var combine = new List<double>();
        using CudaContextScope scope = CudaContextScope.Enter(_context);
        for (int it = 0; it < warmups + iterations; it++)
        {
            barrier.Wait();
            Record(0);
            int[] recvCounts = ExchangeCounts();
            ExchangeRows(_sendCounts, recvCounts, _dispatchRowBytes);
            Record(1);
            ExchangeRows(recvCounts, _sendCounts, _rowBytes);
            Record(2);
            Check.Cu(CudaDriver.cuStreamSynchronize(_stream), "cuStreamSynchronize");
            if (it < warmups) continue;
            dispatch.Add(Elapsed(0, 1));
            combine.Add(Elapsed(1, 2));
        }
        return (Median(dispatch), Median(combine));
    }

    private int[] ExchangeCounts()
    {
        Check.Nccl(Nccl.ncclGroupStart(), "ncclGroupStart");
        for (int p = 0; p < _world; p++)
        {
            Check.Nccl(Nccl.ncclSend(_deviceCounts + (p * 4), 1, NcclDataType.Int32, p, _comm, _stream), "ncclSend", _comm);
            Check.Nccl(Nccl.ncclRecv(_deviceCounts + (4 * _world) + (p * 4), 1, NcclDataType.Int32, p, _comm, _stream), "ncclRecv", _comm);
        }
        Check.Nccl(Nccl.ncclGroupEnd(), "ncclGroupEnd");
        // The host must learn the sizes before it can post the receives: the synchronisation NcclEp avoids.
        Check.Cu(CudaDriver.cuMemcpyDtoHAsync_v2((void*)_hostCounts, _deviceCounts + (4 * _world), (nuint)(4 * _world), _stream), "cuMemcpyDtoHAsync_v2");
        Check.Cu(CudaDriver.cuStreamSynchronize(_stream), "cuStreamSynchronize");
        return new ReadOnlySpan<int>((void*)_hostCounts, _world).ToArray();
    }

    private void ExchangeRows(int[] sendCounts, int[] recvCounts, long rowBytes)
    {
        long sendOffset = 0, recvOffset = 0;
        Check.Nccl(Nccl.ncclGroupStart(), "ncclGroupStart");
        for (int p = 0; p < _world; p++)
        {
            long sendBytes = sendCounts[p] * rowBytes, recvBytes = recvCounts[p] * rowBytes;
            if (sendBytes > 0) Check.Nccl(Nccl.ncclSend(_send + (nint)sendOffset, (nuint)sendBytes, NcclDataType.Uint8, p, _comm, _stream), "ncclSend", _comm);
            if (recvBytes > 0) Check.Nccl(Nccl.ncclRecv(_recv + (nint)recvOffset, (nuint)recvBytes, NcclDataType.Uint8, p, _comm, _stream), "ncclRecv", _comm);
            sendOffset += sendBytes;
            recvOffset += recvBytes;
        }
        Check.Nccl(Nccl.ncclGroupEnd(), "ncclGroupEnd");
    }

    private void Record(int i) => Check.Cu(CudaDriver.cuEventRecord(_events[i], _stream), "cuEventRecord");

    private double Elapsed(int from, int to)
    {
        Check.Cu(CudaDriver.cuEventElapsedTime_v2(out float ms, _events[from], _events[to]), "cuEventElapsedTime_v2");
        return ms * 1000.0;
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count == 0 ? double.NaN : values[values.Count / 2];
    }

    public void Dispose()
    {
        using CudaContextScope scope = CudaContextScope.TryEnter(_context, out _);
        _ = CudaDriver.cuMemFree_v2(_send);
        _ = CudaDriver.cuMemFree_v2(_recv);
        _ = CudaDriver.cuMemFree_v2(_deviceCounts);
        _ = CudaDriver.cuMemFreeHost(_hostCounts);
        foreach (nint e in _events) _ = CudaDriver.cuEventDestroy_v2(e);
    }
}
