using System;
using System.Collections.Generic;
using NcclEp.Backend;
using NcclEp.Interop;

namespace NcclEp.Graphs.Recording;

/// <summary>
/// The backend a group's calls go to while a step is captured (installed through <see cref="EpGroup.CaptureSink"/>).
/// Data-path calls: on Host they are recorded, not run; on Cuda they go to the rank's backend, whose launches the
/// driver captures. Control-path calls a graph cannot hold (allocation, synchronisation, error checks, the mask)
/// are refused with <see cref="InvalidOperationException"/> naming the call.
/// </summary>
internal sealed class CaptureSink : IEpRankBackend
{
    private readonly IEpRankBackend _inner;
    private readonly int _rank;
    private readonly nint _cudaContext;
    private readonly List<RecordedCall>? _calls;
    private readonly List<EpHandle> _handles = new();

    /// <param name="inner">The rank's own backend.</param>
    /// <param name="rank">The rank (for messages).</param>
    /// <param name="cudaContext">Cuda: the context whose streams are checked; 0 on Host (calls are recorded).</param>
    public CaptureSink(IEpRankBackend inner, int rank, nint cudaContext)
    {
        _inner = inner;
        _rank = rank;
        _cudaContext = cudaContext;
        if (inner.Kind == EpBackendKind.Host) _calls = new List<RecordedCall>();
    }

    /// <summary>True on Host: calls and work are recorded for replay instead of being run.</summary>
    public bool RecordsCalls => _calls is not null;

    /// <summary>The handles the step's calls used (a replay checks that none was disposed).</summary>
    public EpHandle[] Handles => _handles.ToArray();

    /// <summary>Host: the recorded calls, in order.</summary>
    public RecordedCall[] Calls => _calls?.ToArray() ?? Array.Empty<RecordedCall>();

    public EpBackendKind Kind => _inner.Kind;

    public void Update(EpHandle handle, ref readonly EpLaunchArgs args) => Take(RecordedKind.Update, handle, in args);

    public void Dispatch(EpHandle handle, ref readonly EpLaunchArgs args) => Take(RecordedKind.Dispatch, handle, in args);

    public void Combine(EpHandle handle, ref readonly EpLaunchArgs args) => Take(RecordedKind.Combine, handle, in args);

    /// <summary>Host: nothing now (the ids are read when a replay runs the dispatch, as a recorded Update's); Cuda: the backend's.</summary>
    public void CheckRouting(ref readonly EpLaunchArgs args)
    {
        if (_calls is null) _inner.CheckRouting(in args);
    }

    /// <summary>Host: appends the caller's work to the recording.</summary>
    public void RecordWork(IEpStepWork work) => _calls!.Add(new RecordedCall { Kind = RecordedKind.Work, Work = work });

    private void Take(RecordedKind kind, EpHandle handle, ref readonly EpLaunchArgs args)
    {
        if (!_handles.Contains(handle)) _handles.Add(handle);
        if (_calls is not null)
        {
            _calls.Add(new RecordedCall { Kind = kind, Handle = handle, Args = args });
            return;
        }
        CheckCapturing(kind, args.Stream);
        switch (kind)
        {
            case RecordedKind.Update: _inner.Update(handle, in args); break;
            case RecordedKind.Dispatch: _inner.Dispatch(handle, in args); break;
            default: _inner.Combine(handle, in args); break;
        }
    }

    /// <summary>Cuda: a call on a stream that is not being captured would run once, now, instead of in the graph.</summary>
    private void CheckCapturing(RecordedKind kind, nint stream)
    {
        using CudaContextScope scope = CudaContextScope.Enter(_cudaContext);
        Check.Cu(CudaDriver.cuStreamIsCapturing(stream, out CuStreamCaptureStatus status), "cuStreamIsCapturing");
        if (status != CuStreamCaptureStatus.Active)
        {
            string name = kind == RecordedKind.Update ? "EpHandle.Update" : $"EpGroup.{kind}";
            throw new InvalidOperationException(
                $"{name} inside EpGraph.Capture on rank {_rank} was given stream 0x{stream:X}, which is not being captured " +
                $"({status}): it would run once, now, instead of at every replay. Pass EpStepContext.Stream (or a stream joined to the capture).");
        }
    }

    public EpBuffer Allocate(long bytes) => throw Refused(
        "EpGroup.AllocateBuffer or EpGroup.CreateHandle",
        "allocating device memory is control-path work that a graph cannot hold; allocate every buffer and handle before capturing");

    public void SetActiveRanks(ReadOnlySpan<bool> active) => throw Refused(
        "EpGroup.SetActiveRanks",
        "the mask is written synchronously on the control path; set it before capturing (replays read the mask in force when they run)");

    public void CheckErrors() => throw Refused(
        "EpGroup.CheckErrors",
        "it reads the kernels' error record on the host, which a graph cannot do (it would look once, now, before anything ran); call it after Replay");

    public void Synchronize(EpStream stream) => throw Refused(
        "EpGroup.Synchronize",
        $"waiting for the device is a host synchronisation, which a graph cannot hold{DescribeStream(stream)}; synchronise after Replay");

    public void CopyToHost(nint source, Span<byte> destination) => throw Refused(
        "EpGroup.DownloadToArray, Download2D or DownloadTo",
        "copying to the host is a host synchronisation, which a graph cannot hold; download after Replay");

    /// <summary>Never called: the group disposes its own backend.</summary>
    public void Dispose()
    {
    }

    private InvalidOperationException Refused(string call, string why) =>
        new($"{call} inside EpGraph.Capture on rank {_rank}: {why}.");

    /// <summary>Cuda: says whether the stream being synchronised is the one under capture (cuStreamIsCapturing).</summary>
    private string DescribeStream(EpStream stream)
    {
        if (_cudaContext == 0) return "";
        using CudaContextScope scope = CudaContextScope.TryEnter(_cudaContext, out CuResult entered);
        if (entered != CuResult.Success || CudaDriver.cuStreamIsCapturing(stream.Handle, out CuStreamCaptureStatus status) != CuResult.Success)
            return "";
        return status == CuStreamCaptureStatus.None
            ? $" (stream 0x{stream.Handle:X} is not the one being captured, but the step is)"
            : $" (stream 0x{stream.Handle:X} is being captured)";
    }
}
