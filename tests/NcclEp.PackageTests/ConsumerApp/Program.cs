// A brand-new console program that uses the NcclEp package (NcclEp.Graphs inside it): a 2-rank Host-backend
// dispatch -> experts -> combine round trip, expert e mapping x to x·a_e + b_e (distinct per expert), checked
// against Σ_k w[t,k] · (x[t]·a_k + b_k) computed in the same fp32 order; prints "ok".
using System;
using System.Reflection;
using System.Threading;
using NcclEp;

const int World = 2, Tokens = 3, Hidden = 512, TopK = 2, Experts = 4, MaxTokens = 4;
var config = new EpConfig(EpMode.LowLatency, Experts, Hidden, TopK, MaxTokens, EpLayout.ExpertMajor, EpDataType.Float32);
EpGroup[] groups = EpGroup.CreateHost(config, World);

int[] ids = [0, 3, 1, -1, 2, 1];
float[] weights = [0.5f, 0.25f, 2f, 0f, 1f, 1f];
var inputs = new float[World][];
var outputs = new float[World][];
var errors = new Exception?[World];
var threads = new Thread[World];
for (int r = 0; r < World; r++)
{
    int rank = r;
    threads[r] = new Thread(() =>
    {
        try
        {
            EpGroup g = groups[rank];
            using EpHandle handle = g.CreateHandle();
            using EpBuffer idBuffer = g.AllocateBuffer(Tokens * TopK * sizeof(int));
            using EpBuffer weightBuffer = g.AllocateBuffer(Tokens * TopK * sizeof(float));
            using EpBuffer x = g.AllocateBuffer(Tokens * Hidden * sizeof(float));
            using EpBuffer received = g.AllocateBuffer(config.ReceiveRows(World) * Hidden * sizeof(float));
            using EpBuffer expertOut = g.AllocateBuffer(config.ReceiveRows(World) * Hidden * sizeof(float));
            using EpBuffer y = g.AllocateBuffer(Tokens * Hidden * sizeof(float));
            idBuffer.Upload<int>(ids);
            weightBuffer.Upload<float>(weights);
            var xs = new float[Tokens * Hidden];
            for (int i = 0; i < xs.Length; i++) xs[i] = (rank + 1) * ((i % 7) - 3);
            inputs[rank] = xs;
            x.Upload<float>(xs);
            handle.Update(idBuffer.As2D(EpDataType.Int32, Tokens, TopK), weightBuffer.As2D(EpDataType.Float32, Tokens, TopK));
            EpTensor rows = received.As3D(EpDataType.Float32, g.LocalExperts, World * MaxTokens, Hidden);
            g.Dispatch(handle, x.As2D(EpDataType.Float32, Tokens, Hidden), rows);

            // The experts: every row of local expert l's block (rows past its count too: Combine reads none of them).
            var values = new float[config.ReceiveRows(World) * Hidden];
            received.Download<float>(values);
            int blockElements = World * MaxTokens * Hidden;
            for (int i = 0; i < values.Length; i++) values[i] = Expert(rank * g.LocalExperts + (i / blockElements), values[i]);
            expertOut.Upload<float>(values);
            EpTensor outputsOfExperts = expertOut.As3D(EpDataType.Float32, g.LocalExperts, World * MaxTokens, Hidden);
            g.Combine(handle, outputsOfExperts, y.As2D(EpDataType.Float32, Tokens, Hidden));
            outputs[rank] = new float[Tokens * Hidden];
            y.Download<float>(outputs[rank]);
        }
        catch (Exception e)
        {
            errors[rank] = e;
        }
    })
    { IsBackground = true, Name = $"rank {r}" };
    threads[r].Start();
}
foreach (Thread t in threads)
{
    if (!t.Join(TimeSpan.FromMinutes(1)))
    {
        Console.Error.WriteLine("a rank did not finish");
        return 3;
    }
}
foreach (EpGroup g in groups) g.Dispose();
for (int r = 0; r < World; r++)
{
    if (errors[r] is not null)
    {
        Console.Error.WriteLine($"rank {r} failed: {errors[r]}");
        return 1;
    }
    for (int t = 0; t < Tokens; t++)
    {
        for (int h = 0; h < Hidden; h++)
        {
            float expected = 0f;
            for (int k = 0; k < TopK; k++)
            {
                if (ids[(t * TopK) + k] < 0) continue;
                float term = weights[(t * TopK) + k] * Expert(ids[(t * TopK) + k], inputs[r][(t * Hidden) + h]);
                expected += term;
            }
            float actual = outputs[r][(t * Hidden) + h];
            if (actual != expected)
            {
                Console.Error.WriteLine($"rank {r} token {t} element {h}: {actual}, expected {expected}");
                return 1;
            }
        }
    }
}

// The kernel sources travel inside NcclEp.dll; NcclEp.Graphs, compiled against here, comes from the same package.
string[] resources = typeof(EpGroup).Assembly.GetManifestResourceNames();
if (Array.IndexOf(resources, "NcclEp.Kernels.ep_dispatch.cu") < 0)
{
    Console.Error.WriteLine("NcclEp.Kernels.ep_dispatch.cu is not embedded in NcclEp.dll: " + string.Join(", ", resources));
    return 1;
}
Assembly graphs = typeof(NcclEp.Graphs.EpGraph).Assembly;
Console.WriteLine($"{typeof(EpGroup).Assembly.GetName().Name} {typeof(EpGroup).Assembly.GetName().Version}, {graphs.GetName().Name} {graphs.GetName().Version}, {resources.Length} kernel sources");
Console.WriteLine("ok");
return 0;

// Expert e: x·a_e + b_e in fp32, a_e = (96 + e mod 64) / 128 and b_e = ((e div 64) mod 16 − 8) / 16, as the repository's checks.
static float Expert(int e, float x)
{
    float product = x * ((96 + (e & 63)) * 0.0078125f);
    return product + ((((e >> 6) & 15) - 8) * 0.0625f);
}
