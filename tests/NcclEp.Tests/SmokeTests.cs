using System;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests;

public class SmokeTests
{
    [Fact]
    public void Low_latency_expert_major_round_trip_of_identity_experts_returns_weighted_input()
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
            using EpBuffer y = g.AllocateBuffer(tokens * hidden * 4);
            ids.Upload<int>(new[] { 0, 3, 1, -1, 2, 1 });
            w.Upload<float>(new[] { 0.5f, 0.25f, 2f, 0f, 1f, 1f });
            var xs = new float[tokens * hidden];
            for (int i = 0; i < xs.Length; i++) xs[i] = (rank + 1) * (i % 7);
            x.Upload<float>(xs);
            h.Update(ids.As2D(EpDataType.Int32, tokens, topK), w.As2D(EpDataType.Float32, tokens, topK));
            EpTensor r = recv.As3D(EpDataType.Float32, g.LocalExperts, world * 4, hidden);
            g.Dispatch(h, x.As2D(EpDataType.Float32, tokens, hidden), r);
            g.Combine(h, r, y.As2D(EpDataType.Float32, tokens, hidden));
            results[rank] = new float[tokens * hidden];
            y.Download<float>(results[rank]);
        });
        for (int rank = 0; rank < world; rank++)
        {
            Assert.Equal(0.75f * (rank + 1) * 1, results[rank][1]);
            Assert.Equal(2f * (rank + 1) * (hidden % 7), results[rank][hidden]);
            Assert.Equal(2f * (rank + 1) * ((2 * hidden + 3) % 7), results[rank][2 * hidden + 3]);
        }
        foreach (EpGroup g in groups) g.Dispose();
    }
}
