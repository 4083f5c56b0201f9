using System;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests;

public class SmokeTests
{
    [Fact]
    public void Low_latency_expert_major_round_trip_returns_the_weighted_outputs_of_distinct_experts()
    {
        const int world = 2, tokens = 3, hidden = 512, topK = 2, experts = 4;
        var config = new EpConfig(EpMode.LowLatency, experts, hidden, topK, 4, EpLayout.ExpertMajor, EpDataType.Float32);
        EpGroup[] groups = EpGroup.CreateHost(config, world);
        using var threads = new RankThreads(world);
        var results = new float[world][];
        threads.Run(rank =>
        {
            EpGroup g = groups[rank];
            using EpHandle h = g.CreateHandle();
            using EpBuffer ids = g.AllocateBuffer(tokens * topK * 4);
            using EpBuffer w = g.AllocateBuffer(tokens * topK * 4);
            using EpBuffer x = g.AllocateBuffer(tokens * hidden * 4);
            using EpBuffer recv = g.AllocateBuffer(config.ReceiveRows(world) * hidden * 4);
            using EpBuffer expertOut = g.AllocateBuffer(config.ReceiveRows(world) * hidden * 4);
            using EpBuffer y = g.AllocateBuffer(tokens * hidden * 4);
            ids.Upload<int>(new[] { 0, 3, 1, -1, 2, 1 });
            w.Upload<float>(new[] { 0.5f, 0.25f, 2f, 0f, 1f, 1f });
            var xs = new float[tokens * hidden];
            for (int i = 0; i < xs.Length; i++) xs[i] = (rank + 1) * (i % 7);
            x.Upload<float>(xs);
            h.Update(ids.As2D(EpDataType.Int32, tokens, topK), w.As2D(EpDataType.Float32, tokens, topK));
            EpTensor r = recv.As3D(EpDataType.Float32, g.LocalExperts, world * 4, hidden);
            EpTensor o = expertOut.As3D(EpDataType.Float32, g.LocalExperts, world * 4, hidden);
            g.Dispatch(h, x.As2D(EpDataType.Float32, tokens, hidden), r);
            HostAffineExperts.Apply(h, r, o, EpPass.Forward);
            g.Combine(h, o, y.As2D(EpDataType.Float32, tokens, hidden));
            results[rank] = new float[tokens * hidden];
            y.Download<float>(results[rank]);
        });
        // Expert e maps x to x·a_e + b_e; for e < 64, a_e = (96 + e) / 128 and b_e = -1/2 (every value below is exact).
        static float F(int e, float x) => (x * (96 + e) / 128f) - 0.5f;
        for (int rank = 0; rank < world; rank++)
        {
            float x1 = (rank + 1) * 1, xh = (rank + 1) * (hidden % 7), x2h3 = (rank + 1) * ((2 * hidden + 3) % 7);
            Assert.Equal((0.5f * F(0, x1)) + (0.25f * F(3, x1)), results[rank][1]);          // token 0: experts 0 and 3
            Assert.Equal(2f * F(1, xh), results[rank][hidden]);                               // token 1: expert 1, slot 1 empty
            Assert.Equal((1f * F(2, x2h3)) + (1f * F(1, x2h3)), results[rank][2 * hidden + 3]); // token 2: experts 2 and 1
        }
        foreach (EpGroup g in groups) g.Dispose();
    }
}
