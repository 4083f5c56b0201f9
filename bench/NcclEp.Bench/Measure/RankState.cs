using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using NcclEp;

namespace NcclEp.Bench;

/// <summary>
/// One rank's device buffers, descriptors, handle and timer for one configuration, created and used on the
/// rank's own thread. The routing and tokens are uploaded once; every iteration reuses them.
/// </summary>
internal sealed class RankState : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public RankState(IBenchBackend backend, EpGroup group, Workload work, int rank)
    {
        Backend = backend;
        Group = group;
        Rank = rank;
        Stream = backend.Stream(rank);
        try
        {
            EpConfig c = group.Config;
            int m = c.MaxTokensPerRank, k = c.TopK, h = c.Hidden;
            int n = work.Tokens(rank);  // the rank's own tokens: the buffers hold the most, the descriptors this rank's
            long receiveRows = c.ReceiveRows(group.WorldSize);
            Handle = Own(group.CreateHandle());
            IdsBuffer = Own(backend.AllocateBuffer(group, 4L * m * k));
            WeightsBuffer = Own(backend.AllocateBuffer(group, 4L * m * k));
            TokensBuffer = Own(backend.AllocateBuffer(group, (long)m * c.RowBytes));
            ReceivedBuffer = Own(backend.AllocateBuffer(group, receiveRows * c.ReceivedRowBytes));
            ScalesBuffer = c.IsDispatchQuantized ? Own(backend.AllocateBuffer(group, receiveRows * c.ScaleColumns * 4L)) : null;
            ExpertOutputsBuffer = Own(backend.AllocateBuffer(group, receiveRows * c.RowBytes));
            CombinedBuffer = Own(backend.AllocateBuffer(group, (long)m * c.RowBytes));
            ReceivedBuffer.Fill(0);
            ScalesBuffer?.Fill(0);
            ExpertOutputsBuffer.Fill(0);
            CombinedBuffer.Fill(0);

            IdsBuffer.Upload(work.Ids(rank));
            WeightsBuffer.Upload(work.Weights(rank));
            TokensBuffer.Upload(work.TokenBytes(rank));

            Ids = IdsBuffer.As2D(EpDataType.Int32, n, k);
            Weights = WeightsBuffer.As2D(EpDataType.Float32, n, k);
            Tokens = TokensBuffer.As2D(c.DataType, n, h);
            Received = LayoutTensor(ReceivedBuffer, c, group.WorldSize, c.ReceivedDataType);
            ReceivedScales = ScalesBuffer is null ? default : ScalesTensor(ScalesBuffer, c, group.WorldSize);
            ExpertOutputs = LayoutTensor(ExpertOutputsBuffer, c, group.WorldSize, c.DataType);
            Combined = CombinedBuffer.As2D(c.DataType, n, h);
            Timer = Own(backend.CreateTimer(group, Stream));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public IBenchBackend Backend { get; }

    /// <summary>The dispatches take the routing themselves (<c>--routing fused</c>, <see cref="BenchOptions.RoutesInDispatch"/>); no Update is made.</summary>
    public bool RoutedDispatch { get; init; }
    public EpGroup Group { get; }
    public EpConfig Config => Group.Config;
    public int Rank { get; }
    public EpStream Stream { get; }
    public EpHandle Handle { get; } = null!;
    public IPhaseTimer Timer { get; } = null!;

    public EpBuffer IdsBuffer { get; } = null!;
    public EpBuffer WeightsBuffer { get; } = null!;
    public EpBuffer TokensBuffer { get; } = null!;
    public EpBuffer ReceivedBuffer { get; } = null!;

    /// <summary>--dtype fp8: the scales of the received rows, <c>[blocks, columns, rows]</c> or <c>[columns, rows]</c>, contiguous; else null.</summary>
    public EpBuffer? ScalesBuffer { get; }
    public EpBuffer ExpertOutputsBuffer { get; } = null!;
    public EpBuffer CombinedBuffer { get; } = null!;

    public EpTensor Ids { get; }
    public EpTensor Weights { get; }
    public EpTensor Tokens { get; }
    public EpTensor Received { get; }
    public EpTensor ReceivedScales { get; }
    public EpTensor ExpertOutputs { get; }
    public EpTensor Combined { get; }

    /// <summary>
    /// What the back-to-back runs and the probes combine: the received rows themselves for unquantized ExpertMajor (their
    /// rows are already in the combine's layout), else the experts' outputs.
    /// </summary>
    public EpTensor ProbeExpertOutputs => Config.Layout == EpLayout.ExpertMajor && !Config.IsDispatchQuantized ? Received : ExpertOutputs;

    /// <summary>Row index of the dispatch layout → byte offset in the expert-output buffer (and the received one, unquantized).</summary>
    public long RowOffset(long index) => index * Config.RowBytes;

    /// <summary>Row index of the dispatch layout → byte offset in the received buffer (FP8 rows are 1 byte per element).</summary>
    public long ReceivedRowOffset(long index) => index * Config.ReceivedRowBytes;

    /// <summary>
    /// The timed dispatch: FP8 with its scales for --dtype fp8, else the rows as they are; with <see cref="RoutedDispatch"/>
    /// the overload that takes the routing too.
    /// </summary>
    public void Dispatch() => Dispatch(Received);

    /// <summary><see cref="Dispatch()"/> into <paramref name="received"/> (the zero-copy probe: the window's rows).</summary>
    public void Dispatch(in EpTensor received)
    {
        bool fp8 = ScalesBuffer is not null;
        if (RoutedDispatch && fp8) Group.Dispatch(Handle, Ids, Weights, Tokens, received, ReceivedScales, Stream);
        else if (RoutedDispatch) Group.Dispatch(Handle, Ids, Weights, Tokens, received, Stream);
        else if (fp8) Group.Dispatch(Handle, Tokens, received, ReceivedScales, Stream);
        else Group.Dispatch(Handle, Tokens, received, Stream);
    }

    /// <summary>The send half of <see cref="Dispatch()"/> (--overlap-work-us), completed by EpGroup.Complete.</summary>
    public void DispatchSend()
    {
        bool fp8 = ScalesBuffer is not null;
        if (RoutedDispatch && fp8) Group.DispatchSend(Handle, Ids, Weights, Tokens, Received, ReceivedScales, Stream);
        else if (RoutedDispatch) Group.DispatchSend(Handle, Ids, Weights, Tokens, Received, Stream);
        else if (fp8) Group.DispatchSend(Handle, Tokens, Received, ReceivedScales, Stream);
        else Group.DispatchSend(Handle, Tokens, Received, Stream);
    }

    /// <summary>The scale of row <paramref name="index"/> (numbered as the layout's rows) in column <paramref name="column"/>: its element in <see cref="ScalesBuffer"/>.</summary>
    public long ScaleElement(long index, int column)
    {
        EpConfig c = Config;
        long rows = c.Mode == EpMode.HighThroughput ? c.ReceiveRows(Group.WorldSize)
            : c.Layout == EpLayout.ExpertMajor ? (long)Group.WorldSize * c.MaxTokensPerRank : c.MaxTokensPerRank;
        long block = index / rows;
        return (block * c.ScaleColumns * rows) + (column * rows) + (index - (block * rows));
    }

    /// <summary>Reads int32 values of the handle's device state (counts, source info, top-k ids).</summary>
    public void Read(nint source, Span<int> destination) =>
        Backend.CopyToHost(Group, source, MemoryMarshal.AsBytes(destination));

    /// <summary>Reads float32 values of the handle's device state (top-k weights).</summary>
    public void Read(nint source, Span<float> destination) =>
        Backend.CopyToHost(Group, source, MemoryMarshal.AsBytes(destination));

    /// <summary>The dispatch output's descriptor: 3-D for the low-latency layouts, 2-D otherwise.</summary>
    private static EpTensor LayoutTensor(EpBuffer buffer, in EpConfig c, int worldSize, EpDataType type) => (c.Mode, c.Layout) switch
    {
        (EpMode.LowLatency, EpLayout.ExpertMajor) =>
            buffer.As3D(type, c.LocalExperts(worldSize), (long)worldSize * c.MaxTokensPerRank, c.Hidden),
        (_, EpLayout.RankMajor) => buffer.As3D(type, worldSize, c.MaxTokensPerRank, c.Hidden),
        _ => buffer.As2D(type, c.ReceiveRows(worldSize), c.Hidden),
    };

    /// <summary>The scales beside the FP8 rows: each block's rows contiguous, one column per scale (docs/fp8.md).</summary>
    private static EpTensor ScalesTensor(EpBuffer buffer, in EpConfig c, int worldSize) => (c.Mode, c.Layout) switch
    {
        (EpMode.LowLatency, EpLayout.ExpertMajor) =>
            buffer.As3D(c.ScalesDataType, c.LocalExperts(worldSize), c.ScaleColumns, (long)worldSize * c.MaxTokensPerRank),
        (_, EpLayout.RankMajor) => buffer.As3D(c.ScalesDataType, worldSize, c.ScaleColumns, c.MaxTokensPerRank),
        _ => buffer.As2D(c.ScalesDataType, c.ScaleColumns, c.ReceiveRows(worldSize)),
    };

    private T Own<T>(T item) where T : IDisposable
    {
        _owned.Add(item);
        return item;
    }

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--) _owned[i].Dispose();
        _owned.Clear();
    }
}
