using System;

namespace NcclEp.Benchmarks;

/// <summary>
/// One rank's buffers for a low-latency expert-major step (decode shape: 8 tokens, hidden 7168 bf16, top-8 of 64
/// experts, all local since W = 1), allocated once on the control path.
/// </summary>
internal sealed class DataPathSetup : IDisposable
{
    public const int Tokens = 8, Hidden = 7168, TopK = 8, Experts = 64;

    private readonly EpBuffer _ids, _weights, _x, _received, _y;

    public DataPathSetup(EpGroup group)
    {
        Group = group;
        EpConfig config = group.Config;
        Handle = group.CreateHandle();
        _ids = group.AllocateBuffer(Tokens * TopK * 4);
        _weights = group.AllocateBuffer(Tokens * TopK * 4);
        _x = group.AllocateBuffer((long)Tokens * Hidden * 2);
        _received = group.AllocateBuffer(config.ReceiveRows(1) * Hidden * 2);
        _y = group.AllocateBuffer((long)Tokens * Hidden * 2);
        var routing = new int[Tokens * TopK];
        var weights = new float[Tokens * TopK];
        for (int t = 0; t < Tokens; t++)
        {
            for (int k = 0; k < TopK; k++)
            {
                routing[(t * TopK) + k] = ((t * 7) + (k * 8)) % Experts;
                weights[(t * TopK) + k] = 1f / TopK;
            }
        }
        _ids.Upload<int>(routing);
        _weights.Upload<float>(weights);
        _x.Fill(0x3F);
        _received.Fill(0);
        TopKIds = _ids.As2D(EpDataType.Int32, Tokens, TopK);
        TopKWeights = _weights.As2D(EpDataType.Float32, Tokens, TopK);
        Tokens2D = _x.As2D(EpDataType.BFloat16, Tokens, Hidden);
        Received = _received.As3D(EpDataType.BFloat16, group.LocalExperts, Tokens, Hidden);
        Combined = _y.As2D(EpDataType.BFloat16, Tokens, Hidden);

        Handle.Update(TopKIds, TopKWeights);
        group.Dispatch(Handle, Tokens2D, Received);
    }

    public static EpConfig Config => new(EpMode.LowLatency, Experts, Hidden, TopK, Tokens, EpLayout.ExpertMajor);

    public EpGroup Group { get; }

    public EpHandle Handle { get; }

    public EpTensor TopKIds { get; }

    public EpTensor TopKWeights { get; }

    public EpTensor Tokens2D { get; }

    public EpTensor Received { get; }

    public EpTensor Combined { get; }

    public void Dispose()
    {
        Handle.Dispose();
        _ids.Dispose();
        _weights.Dispose();
        _x.Dispose();
        _received.Dispose();
        _y.Dispose();
        Group.Dispose();
    }
}
