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
    public EpTensor TopKIds, TopKWeights, Tokens, Received, ExpertOut, Combined;
    public AffineExperts Experts;

    public readonly void Run(EpStepContext context)
    {
        EpStream s = context.Stream;
        Handle.Update(in TopKIds, in TopKWeights, s);
        context.Group.Dispatch(Handle, in Tokens, in Received, s);
        context.Work(Experts);  // the caller's expert work: part of the graph on Cuda, replayed in order on Host
        context.Group.Combine(Handle, in ExpertOut, in Combined, s);
    }
}

/// <summary>
/// The stand-in experts: expert e maps each element x of a row it received to bf16(x·a_e + b_e) (<see cref="Expert"/>),
/// so the experts of one token return different rows and the router weights show in the combined output. The rows in
/// use come from the handle's per-expert counts. On Cuda the kernel of <see cref="ExpertKernel"/> is enqueued on the
/// stream (and captured); on Host the same arithmetic runs on the rank thread (the Host backend's buffers and handle
/// tensors are host memory).
/// </summary>
internal readonly unsafe struct AffineExperts(nint input, nint output, nint counts, int localExperts, int rowsPerExpert, int hidden,
    int firstExpert, nint kernel) : IEpStepWork
{
    public void Execute(EpStream stream)
    {
        if (kernel != 0)
        {
            (nint i, nint o, nint c, int rows, int h, int first) = (input, output, counts, rowsPerExpert, hidden, firstExpert);
            void** arguments = stackalloc void*[6] { &i, &o, &c, &rows, &h, &first };
            CudaStreams.Launch(kernel, (uint)Math.Min(rowsPerExpert, 32), (uint)localExperts, 256, stream.Handle, arguments);
            return;
        }
        var x = (ushort*)input;
        var y = (ushort*)output;
        for (int l = 0; l < localExperts; l++)
        {
            for (long j = 0; j < ((int*)counts)[l]; j++)
            {
                long row = ((l * (long)rowsPerExpert) + j) * hidden;
                for (int i = 0; i < hidden; i++) y[row + i] = BFloat16.RoundBits(Expert.Apply(firstExpert + l, new BFloat16(x[row + i]).ToSingle()));
            }
        }
    }
}

/// <summary>Expert e of the sample: x·a_e + b_e in fp32 (the multiply and the add rounded one at a time), a_e and b_e distinct per expert.</summary>
internal static class Expert
{
    public static float A(int e) => (96 + (e & 63)) * 0.0078125f;

    public static float B(int e) => (((e >> 6) & 15) - 8) * 0.0625f;

    public static float Apply(int e, float x)
    {
        float product = x * A(e);
        return product + B(e);
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

    /// <summary>The step over these buffers (fixed at capture: pointers, shapes, token count); <paramref name="kernel"/> 0 runs the experts on the host.</summary>
    public LayerStep Step(nint kernel)
    {
        EpConfig c = _group.Config;
        int rowsPerExpert = _group.WorldSize * c.MaxTokensPerRank;
        EpTensor Layout(EpBuffer b) => b.As3D(c.DataType, _group.LocalExperts, rowsPerExpert, c.Hidden);
        return new LayerStep
        {
            Handle = Handle,
            TopKIds = _ids.As2D(EpDataType.Int32, _tokens, c.TopK),
            TopKWeights = _weights.As2D(EpDataType.Float32, _tokens, c.TopK),
            Tokens = _x.As2D(c.DataType, _tokens, c.Hidden),
            Received = Layout(_received),
            ExpertOut = Layout(_expertOut),
            Combined = _combined.As2D(c.DataType, _tokens, c.Hidden),
            Experts = new AffineExperts(_received.Pointer, _expertOut.Pointer, Handle.ReceivedExpertCounts.Data, _group.LocalExperts, rowsPerExpert,
                c.Hidden, _group.Rank * _group.LocalExperts, kernel),
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

    /// <summary>
    /// Largest error of the output against Σ_k w[t,k] · (x[t]·a_k + b_k) (exact arithmetic), relative to Σ_k |w[t,k] ·
    /// (x[t]·a_k + b_k)|: the experts' and the combine's bf16 roundings (at most 2^-8 relative each) keep it within 2^-7.
    /// </summary>
    public double CheckOutput()
    {
        EpConfig c = _group.Config;
        _combined.Download<ushort>(_hostCombined);
        double worst = 0;
        for (int t = 0; t < _tokens; t++)
        {
            for (int j = 0; j < c.Hidden; j++)
            {
                int at = (t * c.Hidden) + j;
                double x = new BFloat16(_hostX[at]).ToSingle(), expected = 0, magnitude = 0;
                for (int k = 0; k < c.TopK; k++)
                {
                    int e = _hostIds[(t * c.TopK) + k];
                    if (e < 0) continue;
                    double term = _hostWeights[(t * c.TopK) + k] * ((x * Expert.A(e)) + Expert.B(e));
                    expected += term;
                    magnitude += Math.Abs(term);
                }
                double actual = new BFloat16(_hostCombined[at]).ToSingle();
                worst = Math.Max(worst, Math.Abs(actual - expected) / Math.Max(magnitude, 1e-3));
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
