using System;
using NcclEp.Interop;

namespace NcclEp.Bench;

/// <summary>
/// One rank's side of the peer-copy ceiling, on its own GPU: a send buffer (a slot per peer), a receive buffer (a
/// slot per source), a timing stream with begin/end events per phase, and one stream per peer so the copies to
/// different peers run at once. Allocated once, before any timing.
/// </summary>
internal sealed class PeerCopyRank : IDisposable
{
    private const int Phases = 2;
    private bool _disposed;

    /// <param name="context">The rank's context (its GPU's primary context).</param>
    /// <param name="sendOffsets">[peer]: where the rows for that peer start in the send buffer; the last entry is its size.</param>
    /// <param name="receiveOffsets">[source]: where that source's rows land in the receive buffer; the last entry is its size.</param>
    public PeerCopyRank(nint context, long[] sendOffsets, long[] receiveOffsets)
    {
        Context = context;
        SendOffsets = sendOffsets;
        ReceiveOffsets = receiveOffsets;
        int world = sendOffsets.Length - 1;
        PeerStreams = new nint[world];
        PeerDone = new nint[world];
        using CudaContextScope scope = CudaContextScope.Enter(context);
        try
        {
            nuint sendBytes = (nuint)Math.Max(16, sendOffsets[world]), receiveBytes = (nuint)Math.Max(16, receiveOffsets[world]);
            Check.Cu(CudaDriver.cuMemAlloc_v2(out nint send, sendBytes), "cuMemAlloc_v2");
            Send = send;
            Check.Cu(CudaDriver.cuMemAlloc_v2(out nint receive, receiveBytes), "cuMemAlloc_v2");
            Receive = receive;
            Check.Cu(CudaDriver.cuMemsetD8_v2(Send, 0x3C, sendBytes), "cuMemsetD8_v2");
            Check.Cu(CudaDriver.cuStreamCreate(out nint stream, CuStreamFlags.NonBlocking), "cuStreamCreate");
            Stream = stream;
            for (int p = 0; p < world; p++)
            {
                Check.Cu(CudaDriver.cuStreamCreate(out PeerStreams[p], CuStreamFlags.NonBlocking), "cuStreamCreate");
                Check.Cu(CudaDriver.cuEventCreate(out PeerDone[p], CuEventFlags.DisableTiming), "cuEventCreate");
            }
            for (int i = 0; i < Phases; i++)
            {
                Check.Cu(CudaDriver.cuEventCreate(out Begin[i], CuEventFlags.Default), "cuEventCreate");
                Check.Cu(CudaDriver.cuEventCreate(out End[i], CuEventFlags.Default), "cuEventCreate");
            }
            Check.Cu(CudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
        }
        catch
        {
            Release();
            throw;
        }
    }

    public nint Context { get; }
    public nint Send { get; }
    public nint Receive { get; }
    public long[] SendOffsets { get; }
    public long[] ReceiveOffsets { get; }

    /// <summary>The stream the phase is timed on: the copies fork from it and join back into it.</summary>
    public nint Stream { get; }

    /// <summary>[peer]: the stream the copy to that peer runs on (one per rank; this rank's own is never used).</summary>
    public nint[] PeerStreams { get; }

    /// <summary>[peer]: recorded after the copy to that peer, waited on by <see cref="Stream"/>.</summary>
    public nint[] PeerDone { get; }

    /// <summary>[phase]: bracket the phase on <see cref="Stream"/>.</summary>
    public nint[] Begin { get; } = new nint[Phases];
    public nint[] End { get; } = new nint[Phases];

    public double ElapsedMicroseconds(int phase)
    {
        Check.Cu(CudaDriver.cuEventElapsedTime_v2(out float ms, Begin[phase], End[phase]), "cuEventElapsedTime_v2");
        return ms * 1000.0;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        using CudaContextScope scope = CudaContextScope.TryEnter(Context, out _);
        Release();
    }

    /// <summary>Frees whatever was created (the context is current); zero handles are skipped.</summary>
    private void Release()
    {
        if (Stream != 0) _ = CudaDriver.cuStreamSynchronize(Stream);
        foreach (nint s in PeerStreams) if (s != 0) _ = CudaDriver.cuStreamSynchronize(s);
        foreach (nint s in PeerStreams) if (s != 0) _ = CudaDriver.cuStreamDestroy_v2(s);
        foreach (nint e in PeerDone) if (e != 0) _ = CudaDriver.cuEventDestroy_v2(e);
        foreach (nint e in Begin) if (e != 0) _ = CudaDriver.cuEventDestroy_v2(e);
        foreach (nint e in End) if (e != 0) _ = CudaDriver.cuEventDestroy_v2(e);
        if (Stream != 0) _ = CudaDriver.cuStreamDestroy_v2(Stream);
        if (Send != 0) _ = CudaDriver.cuMemFree_v2(Send);
        if (Receive != 0) _ = CudaDriver.cuMemFree_v2(Receive);
    }
}
