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
            long receiveRows = c.ReceiveRows(group.WorldSize);
            Handle = Own(group.CreateHandle());
            IdsBuffer = Own(backend.AllocateBuffer(group, 4L * m * k));
            WeightsBuffer = Own(backend.AllocateBuffer(group, 4L * m * k));
            TokensBuffer = Own(backend.AllocateBuffer(group, (long)m * c.RowBytes));
            ReceivedBuffer = Own(backend.AllocateBuffer(group, receiveRows * c.RowBytes));
            ExpertOutputsBuffer = Own(backend.AllocateBuffer(group, receiveRows * c.RowBytes));
            CombinedBuffer = Own(backend.AllocateBuffer(group, (long)m * c.RowBytes));
            ReceivedBuffer.Fill(0);
            ExpertOutputsBuffer.Fill(0);
            CombinedBuffer.Fill(0);

            IdsBuffer.Upload(work.Ids(rank));
            WeightsBuffer.Upload(work.Weights(rank));
            TokensBuffer.Upload(work.TokenBytes(rank));

            Ids = IdsBuffer.As2D(EpDataType.Int32, m, k);
            Weights = WeightsBuffer.As2D(EpDataType.Float32, m, k);
            Tokens = TokensBuffer.As2D(c.DataType, m, h);
            Received = LayoutTensor(ReceivedBuffer, c, group.WorldSize);
            ExpertOutputs = LayoutTensor(ExpertOutputsBuffer, c, group.WorldSize);
            Combined = CombinedBuffer.As2D(c.DataType, m, h);
            Timer = Own(backend.CreateTimer(group, Stream));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public IBenchBackend Backend { get; }
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
    public EpBuffer ExpertOutputsBuffer { get; } = null!;
    public EpBuffer CombinedBuffer { get; } = null!;

    public EpTensor Ids { get; }
    public EpTensor Weights { get; }
    public EpTensor Tokens { get; }
    public EpTensor Received { get; }
    public EpTensor ExpertOutputs { get; }
    public EpTensor Combined { get; }

    /// <summary>Row index of the dispatch layout → byte offset in the received / expert-output buffers.</summary>
    public long RowOffset(long index) => index * Config.RowBytes;

    /// <summary>Reads int32 values of the handle's device state (counts, source info, top-k ids).</summary>
    public void Read(nint source, Span<int> destination) =>
        Backend.CopyToHost(Group, source, MemoryMarshal.AsBytes(destination));

    /// <summary>Reads float32 values of the handle's device state (top-k weights).</summary>
    public void Read(nint source, Span<float> destination) =>
        Backend.CopyToHost(Group, source, MemoryMarshal.AsBytes(destination));

    /// <summary>The dispatch output's descriptor: 3-D for the low-latency layouts, 2-D otherwise.</summary>
    private static EpTensor LayoutTensor(EpBuffer buffer, in EpConfig c, int worldSize) => (c.Mode, c.Layout) switch
    {
        (EpMode.LowLatency, EpLayout.ExpertMajor) =>
            buffer.As3D(c.DataType, c.LocalExperts(worldSize), (long)worldSize * c.MaxTokensPerRank, c.Hidden),
        (_, EpLayout.RankMajor) => buffer.As3D(c.DataType, worldSize, c.MaxTokensPerRank, c.Hidden),
        _ => buffer.As2D(c.DataType, c.ReceiveRows(worldSize), c.Hidden),
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
