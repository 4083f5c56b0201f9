using System;

namespace NcclEp.Testing;

/// <summary>
/// One rank's handle and buffers for one configuration, allocated once and reused by every case. Row tensors
/// use the pitches of <see cref="BufferShape"/>; flat row f of a layout lies at physical row <see cref="PhysicalRow"/>,
/// element <c>PhysicalRow(f) · LayoutPitch</c> (3-D layouts leave <c>GapRows</c> spare rows after each block).
/// </summary>
public sealed class RankRig : IDisposable
{
    public RankRig(EpGroup group, BufferShape shape)
    {
        Group = group;
        Shape = shape;
        EpConfig c = group.Config;
        int es = c.DataType.SizeInBytes(), m = c.MaxTokensPerRank;
        LayoutRows = c.ReceiveRows(group.WorldSize) + (Is3D ? 0 : 2);
        BlockRows = !Is3D ? LayoutRows : c.Layout == EpLayout.RankMajor ? m : (long)group.WorldSize * m;
        PhysicalRows = Is3D ? LayoutRows / BlockRows * (BlockRows + shape.GapRows) : LayoutRows;
        Handle = group.CreateHandle();
        Ids = group.AllocateBuffer((long)m * shape.IdsPitch * 4);
        Weights = group.AllocateBuffer((long)m * shape.WeightsPitch * 4);
        long inBytes = (long)m * shape.InPitch * es, outBytes = (long)m * shape.OutPitch * es;
        long layoutBytes = PhysicalRows * shape.LayoutPitch * es;
        X = group.AllocateBuffer(inBytes);
        Grad = group.AllocateBuffer(inBytes);
        Combined = group.AllocateBuffer(outBytes);
        TokenGrad = group.AllocateBuffer(outBytes);
        Received = group.AllocateBuffer(layoutBytes);
        ExpertOut = group.AllocateBuffer(layoutBytes);
        LayoutGrad = group.AllocateBuffer(layoutBytes);
        ExpertGrad = group.AllocateBuffer(layoutBytes);
        LayoutScratch = new ElementArray(PhysicalRows * shape.LayoutPitch, c.DataType);
        InScratch = new ElementArray((long)m * shape.InPitch, c.DataType);
        OutScratch = new ElementArray((long)m * shape.OutPitch, c.DataType);
    }

    public EpGroup Group { get; }
    public BufferShape Shape { get; }
    public EpHandle Handle { get; }
    /// <summary>Rows of the layout descriptor (flattened over dimensions 0 and 1 for 3-D layouts).</summary>
    public long LayoutRows { get; }

    /// <summary>Rows per block of dimension 0 (3-D layouts; all rows for 2-D).</summary>
    public long BlockRows { get; }

    /// <summary>Rows of LayoutPitch elements the layout buffers hold, spare rows included.</summary>
    public long PhysicalRows { get; }
    public EpBuffer Ids { get; }
    public EpBuffer Weights { get; }
    public EpBuffer X { get; }
    public EpBuffer Grad { get; }
    public EpBuffer Combined { get; }
    public EpBuffer TokenGrad { get; }
    public EpBuffer Received { get; }
    public EpBuffer ExpertOut { get; }
    public EpBuffer LayoutGrad { get; }
    public EpBuffer ExpertGrad { get; }
    public ElementArray LayoutScratch { get; }
    public ElementArray InScratch { get; }
    public ElementArray OutScratch { get; }

    /// <summary>Physical row of flat layout row <paramref name="flatRow"/>.</summary>
    public long PhysicalRow(long flatRow) => (flatRow / BlockRows * (BlockRows + Shape.GapRows)) + (flatRow % BlockRows);

    private EpConfig Config => Group.Config;
    private bool Is3D => Config.Mode == EpMode.LowLatency;

    public EpTensor IdsTensor(int tokens) =>
        EpTensor.Create2D(Ids.Pointer, EpDataType.Int32, tokens, Config.TopK, Shape.IdsPitch);

    public EpTensor WeightsTensor(int tokens) =>
        EpTensor.Create2D(Weights.Pointer, EpDataType.Float32, tokens, Config.TopK, Shape.WeightsPitch);

    public EpTensor Home(EpBuffer buffer, int tokens) =>
        EpTensor.Create2D(buffer.Pointer, Config.DataType, tokens, Config.Hidden, HomePitch(buffer));

    /// <summary>Row pitch of a home buffer: inputs (x, gradient) and outputs (combined, token gradient) differ.</summary>
    public int HomePitch(EpBuffer buffer) => buffer == X || buffer == Grad ? Shape.InPitch : Shape.OutPitch;

    /// <summary>The layout descriptor over <paramref name="buffer"/>: 3-D for low latency, 2-D (with 2 spare rows) for high throughput.</summary>
    public EpTensor Layout(EpBuffer buffer)
    {
        EpConfig c = Config;
        int p = Shape.LayoutPitch;
        return Is3D
            ? EpTensor.Create3D(buffer.Pointer, c.DataType, LayoutRows / BlockRows, BlockRows, c.Hidden, (BlockRows + Shape.GapRows) * p, p)
            : EpTensor.Create2D(buffer.Pointer, c.DataType, LayoutRows, c.Hidden, p);
    }

    /// <summary>Uploads [tokens, topK] ids and weights at their pitches; the gaps hold values that would be rejected or show.</summary>
    public void UploadRouting(RankBatch batch)
    {
        int k = Config.TopK;
        var ids = new int[Math.Max(1, batch.Tokens) * Shape.IdsPitch];
        var weights = new float[Math.Max(1, batch.Tokens) * Shape.WeightsPitch];
        Array.Fill(ids, int.MinValue);
        Array.Fill(weights, float.NaN);
        for (int t = 0; t < batch.Tokens; t++)
        {
            Array.Copy(batch.Ids, t * k, ids, t * Shape.IdsPitch, k);
            Array.Copy(batch.Weights, t * k, weights, t * Shape.WeightsPitch, k);
        }
        Ids.Upload<int>(ids);
        Weights.Upload<float>(weights);
    }

    /// <summary>Uploads [tokens, hidden] input rows (element bits) at the input pitch; the gaps and unused rows hold <paramref name="poison"/>.</summary>
    public void UploadHome(EpBuffer buffer, byte[] rows, int tokens, byte poison)
    {
        int h = Config.Hidden;
        EpDataType type = Config.DataType;
        InScratch.Fill(poison);
        for (int t = 0; t < tokens; t++)
        {
            for (int e = 0; e < h; e++)
                InScratch.Set(((long)t * Shape.InPitch) + e, Numerics.ElementBits(rows, ((long)t * h) + e, type));
        }
        InScratch.UploadTo(buffer);
    }

    public void Dispose()
    {
        foreach (EpBuffer b in new[] { Ids, Weights, X, Grad, Combined, TokenGrad, Received, ExpertOut, LayoutGrad, ExpertGrad })
            b.Dispose();
        Handle.Dispose();
    }
}
