namespace NcclEp.InternodeModel;

/// <summary>What every rank passes to one dispatch (and gets back from one combine).</summary>
/// <param name="TokensPerRank">Tokens per rank, and the buffers' <c>maxTokensPerRank</c> (M): the model runs full batches.</param>
/// <param name="Hidden">Elements per token row.</param>
/// <param name="TopK">Experts per token (K).</param>
/// <param name="Experts">Experts in the whole group (E); expert e lives on rank e / (E / world).</param>
/// <param name="ElementBytes">Bytes per element: 2 for bf16.</param>
/// <param name="NodeLimit">0: uniform routing over all experts. n &gt; 0: each token first picks min(n, nodes) nodes
/// uniformly, then its K experts uniformly among theirs (DeepSeek-V3's group-limited routing, as DeepEP's tests do).</param>
public sealed record Workload(int TokensPerRank, int Hidden, int TopK, int Experts, int ElementBytes = 2, int NodeLimit = 0)
{
    /// <summary>Decode: 128 tokens per rank, hidden 7168, top-8 of 256 experts, bf16 (DeepEP's low-latency setting, bf16).</summary>
    public static Workload LowLatency { get; } = new(128, 7168, 8, 256);

    /// <summary>Prefill/training: 4096 tokens per rank, otherwise as <see cref="LowLatency"/>.</summary>
    public static Workload HighThroughput { get; } = new(4096, 7168, 8, 256);

    /// <summary>Bytes of one token row.</summary>
    public int RowBytes => Hidden * ElementBytes;
}
