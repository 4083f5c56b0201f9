using System;
using NcclEp;
using NcclEp.Graphs;

namespace MoeLayerStep;

/// <summary>
/// The layer step, written once and captured: route, send tokens to their experts, run the experts, bring the
/// results home weighted by the router. A struct (<see cref="IEpStep"/>), so capturing allocates no closure.
/// </summary>
internal struct LayerStep : IEpStep
{
    public EpHandle Handle;
    public EpTensor TopkIds, TopkWeights, Tokens, Received, ExpertOut, Combined;
    public CopyExpert Experts;

    public readonly void Run(EpStepContext context)
    {
        EpStream s = context.Stream;
        Handle.Update(in TopkIds, in TopkWeights, s);
        context.Group.Dispatch(Handle, in Tokens, in Received, s);
        context.Work(Experts);  // the caller's expert work: part of the graph on Cuda, replayed in order on Host
        context.Group.Combine(Handle, in ExpertOut, in Combined, s);
    }
}

/// <summary>
/// The stand-in expert: every expert is the identity, so it copies the rows it received to its output. On Cuda the
/// copy is enqueued on the stream (and captured); on Host it is a plain memory copy on the rank thread.
/// </summary>
internal readonly unsafe struct CopyExpert(nint source, nint destination, long bytes, bool cuda) : IEpStepWork
{
    public void Execute(EpStream stream)
    {
        if (cuda) CudaStreams.CopyAsync(destination, source, bytes, stream.Handle);
        else Buffer.MemoryCopy((void*)source, (void*)destination, bytes, bytes);
    }
}

/// <summary>One rank's buffers for the step, its inputs as last written, and the check of its output.</summary>
internal sealed class LayerBuffers : IDisposable
{
    private readonly EpGroup _group;
    private readonly int _tokens;
    private readonly EpBuffer _ids, _weights, _x, _received, _expertOut, _combined;
    private readonly int[] _hostIds;
    private readonly float[] _hostWeights;
    private readonly ushort[] _hostX, _hostCombined;

    public LayerBuffers(EpGroup group, int tokens)
    {
        _group = group;
        _tokens = tokens;
        EpConfig c = group.Config;
        long layoutBytes = c.ReceiveRows(group.WorldSize) * c.RowBytes;
        Handle = group.CreateHandle();
        _ids = group.AllocateBuffer(tokens * c.TopK * sizeof(int));
        _weights = group.AllocateBuffer(tokens * c.TopK * sizeof(float));
        _x = group.AllocateBuffer((long)tokens * c.RowBytes);
        _combined = group.AllocateBuffer((long)tokens * c.RowBytes);
        _received = group.AllocateBuffer(layoutBytes);
        _expertOut = group.AllocateBuffer(layoutBytes);
        _expertOut.Fill(0);
        _hostIds = new int[tokens * c.TopK];
        _hostWeights = new float[tokens * c.TopK];
        _hostX = new ushort[tokens * c.Hidden];
        _hostCombined = new ushort[tokens * c.Hidden];
    }

    public EpHandle Handle { get; }

    /// <summary>The step over these buffers (fixed at capture: pointers, shapes, token count).</summary>
    public LayerStep Step(bool cuda)
    {
        EpConfig c = _group.Config;
        EpTensor Layout(EpBuffer b) => b.As3D(c.DataType, _group.LocalExperts, (long)_group.WorldSize * c.MaxTokensPerRank, c.Hidden);
        return new LayerStep
        {
            Handle = Handle,
            TopkIds = _ids.As2D(EpDataType.Int32, _tokens, c.TopK),
            TopkWeights = _weights.As2D(EpDataType.Float32, _tokens, c.TopK),
            Tokens = _x.As2D(c.DataType, _tokens, c.Hidden),
            Received = Layout(_received),
            ExpertOut = Layout(_expertOut),
            Combined = _combined.As2D(c.DataType, _tokens, c.Hidden),
            Experts = new CopyExpert(_received.Pointer, _expertOut.Pointer, _received.Bytes, cuda),
        };
    }

    /// <summary>New tokens and new routing for the next decode step (distinct experts per token, some slots unused).</summary>
    public void WriteInputs(Random random)
    {
        EpConfig c = _group.Config;
        for (int t = 0; t < _tokens; t++)
        {
            int first = random.Next(c.NumExperts), second = (first + 1 + random.Next(c.NumExperts - 1)) % c.NumExperts;
            _hostIds[t * c.TopK] = first;
            _hostIds[(t * c.TopK) + 1] = random.Next(6) == 0 ? -1 : second;
            _hostWeights[t * c.TopK] = (float)random.NextDouble();
            _hostWeights[(t * c.TopK) + 1] = (float)random.NextDouble();
        }
        for (int i = 0; i < _hostX.Length; i++) _hostX[i] = BFloat16.FromSingle((float)((random.NextDouble() * 4) - 2)).Bits;
        _ids.Upload<int>(_hostIds);
        _weights.Upload<float>(_hostWeights);
        _x.Upload<ushort>(_hostX);
    }

    /// <summary>Largest relative error of the output against Σ_k w[t,k] · x[t] (identity experts).</summary>
    public double CheckOutput()
    {
        EpConfig c = _group.Config;
        _combined.Download<ushort>(_hostCombined);
        double worst = 0;
        for (int t = 0; t < _tokens; t++)
        {
            float weight = 0;
            for (int k = 0; k < c.TopK; k++)
            {
                if (_hostIds[(t * c.TopK) + k] >= 0) weight += _hostWeights[(t * c.TopK) + k];
            }
            for (int j = 0; j < c.Hidden; j++)
            {
                int at = (t * c.Hidden) + j;
                double expected = weight * new BFloat16(_hostX[at]).ToSingle();
                double actual = new BFloat16(_hostCombined[at]).ToSingle();
                worst = Math.Max(worst, Math.Abs(actual - expected) / Math.Max(Math.Abs(expected), 1e-3));
            }
        }
        return worst;
    }

    public void Dispose()
    {
        foreach (EpBuffer b in new[] { _ids, _weights, _x, _received, _expertOut, _combined }) b.Dispose();
        Handle.Dispose();
    }
}
