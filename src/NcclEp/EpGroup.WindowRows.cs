using System;
using NcclEp.Backend;
using NcclEp.Cuda;
using NcclEp.Host;

namespace NcclEp;

/// <summary>Zero-copy receive: the rank-major dispatch output read where the peers wrote it, in this rank's window.</summary>
public sealed partial class EpGroup
{
    /// <summary>This rank's own window as the host addresses it (0 where the backend has none).</summary>
    private nint WindowBase { get; }

    private EpHandle? _windowRowsHandle;  // the handle of the last dispatch-route operation, if it received into the window
    private long _windowRowsOp;            // that operation's number on the dispatch route

    /// <summary>
    /// The rows that this rank's next dispatch-route operation receives into its window, as a
    /// <c>[worldSize, maxTokensPerRank, hidden]</c> descriptor of strided rows (<see cref="EpLayout.RankMajor"/> only).
    /// Pass it as <c>received</c> to <see cref="Dispatch(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/> or <see cref="DispatchSend(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>: the peers' rows are then not
    /// copied out at all (row (s, i) is message i of source s, where s wrote it; this rank's own rows are copied in from
    /// its tokens), and the experts read them there. Control or data path: computed on the host, allocates nothing.
    /// </summary>
    /// <remarks>
    /// <para>
    /// <b>Which window half:</b> the window has two halves and consecutive dispatch-route operations alternate between
    /// them. The host counts this rank's operations on the route (no read-back), so call this right before the dispatch
    /// that uses it: a descriptor of the other half is refused with <see cref="ArgumentException"/>.
    /// </para>
    /// <para>
    /// <b>How long the rows stay valid:</b> from that dispatch's completion until this rank issues its next dispatch-route
    /// operation (<see cref="Dispatch(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>, <see cref="DispatchSend(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)"/>, or <see cref="Combine"/>/<see cref="CombineSend"/>
    /// with <see cref="EpPass.Backward"/>): from then on a peer that finished that operation may write its next one into
    /// this half (docs/kernels.md, "Zero-copy receive"). Device work that reads or writes the rows must be ordered
    /// before that call. In that time the experts may also write their outputs into the rows in place, and
    /// <see cref="Combine"/> (or <see cref="CombineSend"/>) may take the same descriptor as <c>expertOutputs</c>, with the
    /// same handle: checked, a stale or foreign descriptor is refused. A combine's complete reads this rank's own rows
    /// there even after later dispatches, so a zero-copy receive into the same half waits (is refused) until that complete.
    /// </para>
    /// <para>
    /// Not inside <c>EpGraph.Capture</c>: a graph bakes one address, and the half alternates from one operation to the
    /// next. Flat and expert-major layouts copy: Flat packs each source's rows by their counts, and expert-major writes a
    /// token's row once per local expert, so neither is the window's message array.
    /// </para>
    /// </remarks>
    /// <returns>The descriptor (<see cref="Config"/>'s data type, row stride = one message).</returns>
    /// <exception cref="InvalidOperationException">The layout is not <see cref="EpLayout.RankMajor"/>, the backend has no
    /// window the host can address, or a step is being captured.</exception>
    public EpTensor WindowReceiveRows()
    {
        if (_disposed) ThrowHelper.Disposed(nameof(EpGroup));
        if (Config.Layout != EpLayout.RankMajor)
        {
            ThrowHelper.InvalidOperation(
                $"Zero-copy receive needs the RankMajor layout, where row (s, i) is message i of source s in the window; {Config.Layout} " +
                "places rows elsewhere (Flat packs each source's rows by their counts, ExpertMajor writes a row once per local expert).");
        }
        if (_captureSink is not null || EpCaptureGuard.IsCapturing)
            ThrowHelper.InvalidOperation("EpGroup.WindowReceiveRows inside a captured step: the window half alternates from one operation to the next, and a graph bakes one address.");
        if (WindowBase == 0)
            ThrowHelper.InvalidOperation($"The {Backend} backend of this group has no window the host can address.");
        return WindowRowsOf(NextDispatchParity);
    }

    /// <summary>Parity (window half) of this rank's next dispatch-route operation: its sequence number &amp; 1.</summary>
    private int NextDispatchParity => (int)((_issued[(int)EpRoute.Dispatch] + 1) & 1);

    private static nint WindowBaseOf(IEpRankBackend backend) => backend switch
    {
        HostRankBackend host => host.WindowBase,
        CudaRankBackend cuda => cuda.WindowBase,
        _ => 0,
    };

    private EpTensor WindowRowsOf(int parity)
    {
        WindowLayout w = _windowLayout;
        int size = Config.DataType.SizeInBytes();
        nint rows = WindowBase + (nint)w.Message(parity, 0, 0) + w.HeaderBytes;
        return EpTensor.Create3D(rows, Config.DataType, WorldSize, Config.MaxTokensPerRank, Config.Hidden,
            (long)Config.MaxTokensPerRank * w.MessageBytes / size, w.MessageBytes / size);
    }

    /// <summary>
    /// A layout tensor inside this rank's window must be the rows of exactly the right operation: a dispatch-route
    /// operation receives into the next half; a combine-route operation reads the rows of the last dispatch-route
    /// operation, which must have received into the window with the same handle and be complete. Returns whether the
    /// tensor is in the window.
    /// </summary>
    private bool CheckWindowRows(EpRoute route, EpOperation op, EpHandle handle, ref readonly EpLaunchArgs args)
    {
        nint window = WindowBase;
        if (window == 0 || args.Rows < window || args.Rows >= window + (nint)_windowLayout.TotalBytes) return false;
        string name = op == EpOperation.Dispatch ? "received" : "expertOutputs";
        if (_captureSink is not null)
            ThrowHelper.InvalidOperation($"{name} lies in the group's window (zero-copy receive), which a captured step cannot use: the window half alternates from one operation to the next, and a graph bakes one address.");
        if (Config.Layout != EpLayout.RankMajor)
            ThrowHelper.Argument(name, $"{name} lies in the group's window; only the RankMajor layout receives there (EpGroup.WindowReceiveRows).");
        if (route == EpRoute.Dispatch)
        {
            if (args.Quantization != EpDispatchQuantization.None)
            {
                ThrowHelper.Argument(name,
                    $"{name} lies in the group's window, but an FP8 dispatch ({args.Quantization}) does not receive there: the window's rows are " +
                    $"{Config.DataType}-sized and the FP8 messages carry their scales beside the rows; pass FP8 rows and scales outside the window (docs/fp8.md).");
            }
            if (!SameRows(in args, NextDispatchParity))
            {
                ThrowHelper.Argument(name,
                    $"{name} lies in the group's window but is not the rows this operation receives into (window half {NextDispatchParity}); take them from EpGroup.WindowReceiveRows() right before the call.");
            }
            // This rank's own rows there are rewritten only by its own receive into them: not while a combine still reads them.
            ref InFlightSend combine = ref _inFlight[(int)EpRoute.Combine];
            if (combine.Handle is not null && combine.Args.Rows == args.Rows)
            {
                ThrowHelper.Argument(name,
                    $"{name} are the window rows that the combine-route send in flight reads (its complete reads this rank's own terms there); call EpGroup.Complete on it first.");
            }
            return true;
        }
        long last = _issued[(int)EpRoute.Dispatch];
        string why =
            !ReferenceEquals(_windowRowsHandle, handle) || _windowRowsOp != last ? "the last dispatch-route operation of this rank did not receive into the window with this handle; the rows of an earlier one may be overwritten already" :
            _inFlight[(int)EpRoute.Dispatch].Handle is not null ? "a dispatch-route send is in flight" :
            !SameRows(in args, (int)(last & 1)) ? $"they are not the rows of that operation (window half {last & 1})" : "";
        if (why.Length > 0)
            ThrowHelper.Argument(name, $"{name} lies in the group's window, but {why}. Combine reads rows in the window only right after the dispatch that received them there, with its handle.");
        return true;
    }

    private bool SameRows(ref readonly EpLaunchArgs args, int parity)
    {
        EpTensor rows = WindowRowsOf(parity);
        int size = Config.DataType.SizeInBytes();
        return args.Rows == rows.Data && args.RowsStride0 == rows.Stride(0) * size && args.RowsStride1 == rows.Stride(1) * size;
    }

    /// <summary>The last dispatch-route operation received into the window with <paramref name="handle"/>, or did not.</summary>
    private void NoteDispatchRoute(EpHandle? handle, bool inWindow)
    {
        _windowRowsHandle = inWindow ? handle : null;
        _windowRowsOp = _issued[(int)EpRoute.Dispatch];
    }
}
