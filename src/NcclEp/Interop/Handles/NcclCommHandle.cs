using System;
using System.Threading;
using Microsoft.Win32.SafeHandles;

namespace NcclEp.Interop;

/// <summary>
/// An NCCL communicator (ncclCommInitRank* / ncclCommDestroy). The GPU is the one whose context is current on
/// the calling thread at creation. <see cref="Abort"/> tears it down at once (for a hung or failed peer);
/// windows registered on it keep it alive until they are released.
/// </summary>
internal sealed class NcclCommHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private int _aborted;

    /// <summary>An empty (invalid) handle; communicators come from the static factories.</summary>
    public NcclCommHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>The raw ncclComm_t for data-path calls; valid while this handle is open.</summary>
    public nint Value => handle;

    /// <summary>This rank in the communicator.</summary>
    public int Rank { get; private set; }

    /// <summary>The number of ranks.</summary>
    public int Size { get; private set; }

    /// <summary>The CUDA device ordinal the communicator uses.</summary>
    public int Device { get; private set; }

    /// <summary>True after <see cref="Abort"/>: the native communicator is gone.</summary>
    public bool IsAborted => Volatile.Read(ref _aborted) != 0;

    /// <summary>A new id, made on one rank and sent to all the others (ncclGetUniqueId).</summary>
    public static NcclUniqueId CreateUniqueId()
    {
        Check.Nccl(Nccl.ncclGetUniqueId(out NcclUniqueId id), "ncclGetUniqueId");
        return id;
    }

    /// <summary>Joins rank <paramref name="rank"/> of <paramref name="nRanks"/> (collective: every rank calls it with the same id).</summary>
    public static NcclCommHandle InitRank(int nRanks, in NcclUniqueId id, int rank)
    {
        var comm = new NcclCommHandle();
        try
        {
            Check.Nccl(Nccl.ncclCommInitRank(out nint value, nRanks, id, rank), "ncclCommInitRank");
            comm.Adopt(value);
            return comm;
        }
        catch
        {
            comm.Dispose();
            throw;
        }
    }

    /// <summary>As <see cref="InitRank"/> with an ncclConfig_t; a non-blocking config is waited for here.</summary>
    public static NcclCommHandle InitRankConfig(int nRanks, in NcclUniqueId id, int rank, NcclConfig config)
    {
        var comm = new NcclCommHandle();
        try
        {
            NcclResult status = Nccl.ncclCommInitRankConfig(out nint value, nRanks, id, rank, ref config);
            if (status == NcclResult.InProgress && value != 0)
            {
                comm.SetHandle(value);
                status = WaitUntilReady(value);
            }

            Check.Nccl(status, "ncclCommInitRankConfig", value);
            comm.Adopt(value);
            return comm;
        }
        catch
        {
            comm.Dispose();
            throw;
        }
    }

    /// <summary>One communicator per listed device, all in this process (ncclCommInitAll); index i is rank i.</summary>
    public static NcclCommHandle[] InitAll(ReadOnlySpan<int> devices)
    {
        var values = new nint[devices.Length];
        Check.Nccl(Nccl.ncclCommInitAll(values, devices), "ncclCommInitAll");
        var comms = new NcclCommHandle[devices.Length];
        for (int i = 0; i < comms.Length; i++)
        {
            comms[i] = new NcclCommHandle();
            comms[i].SetHandle(values[i]);
        }

        try
        {
            foreach (NcclCommHandle comm in comms)
            {
                comm.Adopt(comm.handle);
            }
        }
        catch
        {
            foreach (NcclCommHandle comm in comms)
            {
                comm.Dispose();
            }

            throw;
        }

        return comms;
    }

    /// <summary>The asynchronous error state (ncclCommGetAsyncError): Success, InProgress or the failure.</summary>
    public NcclResult GetAsyncError()
    {
        Check.Nccl(Nccl.ncclCommGetAsyncError(handle, out NcclResult asyncError), "ncclCommGetAsyncError", handle);
        return asyncError;
    }

    /// <summary>Flushes outstanding work and ends the communicator's collective life (ncclCommFinalize); dispose after.</summary>
    public void FinalizeCommunicator()
    {
        NcclResult status = Nccl.ncclCommFinalize(handle);
        if (status == NcclResult.InProgress)
        {
            status = WaitUntilReady(handle);
        }

        Check.Nccl(status, "ncclCommFinalize", handle);
    }

    /// <summary>
    /// Frees the communicator now, cancelling pending operations (ncclCommAbort). Safe to call once from any
    /// thread; windows on it skip their deregistration afterwards.
    /// </summary>
    public void Abort()
    {
        if (IsInvalid || Interlocked.Exchange(ref _aborted, 1) != 0)
        {
            return;
        }

        NcclResult status = Nccl.ncclCommAbort(handle);
        SetHandleAsInvalid();
        Check.Nccl(status, "ncclCommAbort");
    }

    protected override bool ReleaseHandle() =>
        IsAborted || NativeRelease.Accept(Nccl.ncclCommDestroy(handle), "ncclCommDestroy");

    private static NcclResult WaitUntilReady(nint comm)
    {
        while (true)
        {
            NcclResult status = Nccl.ncclCommGetAsyncError(comm, out NcclResult asyncError);
            if (status != NcclResult.Success)
            {
                return status;
            }

            if (asyncError != NcclResult.InProgress)
            {
                return asyncError;
            }

            Thread.Yield();
        }
    }

    private void Adopt(nint value)
    {
        SetHandle(value);
        Check.Nccl(Nccl.ncclCommUserRank(value, out int rank), "ncclCommUserRank", value);
        Check.Nccl(Nccl.ncclCommCount(value, out int size), "ncclCommCount", value);
        Check.Nccl(Nccl.ncclCommCuDevice(value, out int device), "ncclCommCuDevice", value);
        Rank = rank;
        Size = size;
        Device = device;
    }
}
