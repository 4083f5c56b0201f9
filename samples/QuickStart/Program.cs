// NcclEp quick start: 2 ranks of the Host backend (threads of this process) route 6 tokens each to 8 experts
// (top-2), each expert scales and shifts the rows it receives by constants of its id, and the combine brings the
// results home weighted by the router. The program checks what came home against the same sum computed here.
using System;
using System.Threading;
using CommunityToolkit.HighPerformance;
using NcclEp;

const int World = 2, Tokens = 6, Hidden = 512, TopK = 2, Experts = 8;
var config = new EpConfig(EpMode.LowLatency, NumExperts: Experts, Hidden: Hidden, TopK: TopK,
                          MaxTokensPerRank: Tokens, Layout: EpLayout.ExpertMajor, DataType: EpDataType.Float32);
Console.WriteLine($"memory: {config.EstimateMemory(World)}");
EpGroup[] groups = EpGroup.CreateHost(config, World);  // on GPUs: EpGroup.CreateCuda(config, [0, 1])

var worst = new double[World];
var errors = new Exception?[World];
var threads = new Thread[World];
for (int r = 0; r < World; r++)
{
    int rank = r;  // each rank runs on its own thread: ranks wait on each other inside every call
    threads[r] = new Thread(() =>
    {
        try { worst[rank] = RunRank(groups[rank]); }
        catch (Exception e) { errors[rank] = e; }
    });
    threads[r].Start();
}
foreach (Thread t in threads) t.Join();
foreach (EpGroup g in groups) g.Dispose();

bool passed = true;
double largest = 0;
for (int r = 0; r < World; r++)
{
    if (errors[r] is Exception e) Console.WriteLine($"rank {r} failed: {e.Message}");
    passed &= errors[r] is null && worst[r] <= 1e-5;
    largest = Math.Max(largest, worst[r]);
}
Console.WriteLine(passed ? $"check: passed (largest relative error {largest:G3})" : $"check: FAILED (largest relative error {largest:G3})");
return passed ? 0 : 1;

// Expert e: y = (1 + e/8)·x + e.
static float Expert(int e, float x) => ((1 + (e / 8f)) * x) + e;

// One rank's step; returns the largest relative error of its combined rows.
double RunRank(EpGroup g)
{
    // Inputs: token t picks two distinct experts (the last token only one: -1 is "no expert").
    var ids = new int[Tokens * TopK];
    var weights = new float[Tokens * TopK];
    var x = new float[Tokens * Hidden];
    for (int t = 0; t < Tokens; t++)
    {
        ids[t * TopK] = ((3 * t) + g.Rank) % Experts;
        ids[(t * TopK) + 1] = t == Tokens - 1 ? -1 : (ids[t * TopK] + 1 + (t % 3)) % Experts;
        weights[t * TopK] = 0.75f;
        weights[(t * TopK) + 1] = 0.25f;
        for (int h = 0; h < Hidden; h++) x[(t * Hidden) + h] = (100 * g.Rank) + t + (h / 512f);
    }

    EpStream stream = EpStream.Default;  // the Host backend finishes each call before it returns
    long layoutBytes = config.ReceiveRows(World) * config.RowBytes;
    using EpHandle handle = g.CreateHandle();
    using EpBuffer idsBuffer = g.AllocateBuffer(ids.Length * sizeof(int));
    using EpBuffer weightsBuffer = g.AllocateBuffer(weights.Length * sizeof(float));
    using EpBuffer xBuffer = g.AllocateBuffer(x.Length * sizeof(float));
    using EpBuffer receivedBuffer = g.AllocateBuffer(layoutBytes);
    using EpBuffer expertBuffer = g.AllocateBuffer(layoutBytes);
    using EpBuffer yBuffer = g.AllocateBuffer(x.Length * sizeof(float));
    idsBuffer.Upload<int>(ids);
    weightsBuffer.Upload<float>(weights);
    xBuffer.Upload<float>(x);
    int slots = World * Tokens;  // rows of each local expert: [LocalExperts, World·Tokens, Hidden]
    EpTensor received = receivedBuffer.As3D(EpDataType.Float32, g.LocalExperts, slots, Hidden);
    EpTensor expertOutputs = expertBuffer.As3D(EpDataType.Float32, g.LocalExperts, slots, Hidden);

    handle.Update(idsBuffer.As2D(EpDataType.Int32, Tokens, TopK), weightsBuffer.As2D(EpDataType.Float32, Tokens, TopK), stream);
    g.Dispatch(handle, xBuffer.As2D(EpDataType.Float32, Tokens, Hidden), received, stream);

    // The experts (on a GPU: your grouped GEMM over `received`): local expert l's rows are 0..counts[l]-1 of its slab.
    int[] counts = g.DownloadToArray<int>(handle.ReceivedExpertCounts, stream);
    var rows = new float[received.ElementCount];
    g.DownloadTo<float>(received, rows, stream);
    var view = new Span2D<float>(rows, g.LocalExperts * slots, Hidden);
    for (int l = 0; l < g.LocalExperts; l++)
    {
        int expert = (g.Rank * g.LocalExperts) + l;
        for (int i = 0; i < counts[l]; i++)
        {
            Span<float> row = view.GetRowSpan((l * slots) + i);
            for (int h = 0; h < Hidden; h++) row[h] = Expert(expert, row[h]);
        }
    }
    expertBuffer.Upload<float>(rows);

    g.Combine(handle, expertOutputs, yBuffer.As2D(EpDataType.Float32, Tokens, Hidden), stream);
    float[] y = g.DownloadToArray<float>(yBuffer.As2D(EpDataType.Float32, Tokens, Hidden), stream);

    // The check: y[t] = Σ_k w[t,k] · Expert(ids[t,k], x[t]).
    double worstError = 0;
    for (int t = 0; t < Tokens; t++)
    {
        for (int h = 0; h < Hidden; h++)
        {
            float expected = 0;
            for (int k = 0; k < TopK; k++)
            {
                int e = ids[(t * TopK) + k];
                if (e >= 0) expected += weights[(t * TopK) + k] * Expert(e, x[(t * Hidden) + h]);
            }
            worstError = Math.Max(worstError, Math.Abs(y[(t * Hidden) + h] - expected) / Math.Max(1, Math.Abs(expected)));
        }
    }
    Console.WriteLine($"rank {g.Rank}: rows per local expert [{string.Join(", ", counts)}], largest relative error {worstError:G3}");
    return worstError;
}
