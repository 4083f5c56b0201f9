using System;
using NcclEp.Testing;
using Xunit;

namespace NcclEp.Tests.Fp8;

/// <summary>
/// FP8 dispatch with send/complete on the Host backend: DispatchSend (FP8 rows and scales) + Complete, then CombineSend +
/// Complete, leave every output of the plain calls bit for bit; a second dispatch-route call while the FP8 send is in
/// flight is refused; FP8 rows in the window (zero-copy receive) are refused, naming <c>received</c>.
/// </summary>
public class Fp8SendCompleteTests
{
    private const int Experts = 8, TopK = 3, Tokens = 6, Hidden = 1024;

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, EpDispatchQuantization.Float8E4M3UE8M0)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, EpDispatchQuantization.Float8E4M3PowerOfTwo)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, EpDispatchQuantization.Float8E4M3UE8M0)]
    public void Send_and_complete_give_the_plain_FP8_dispatch_and_combine_bit_for_bit(EpMode mode, EpLayout layout, EpDispatchQuantization recipe)
    {
        const int world = 2;
        EpConfig config = Config(mode, layout, recipe);
        var inputs = new Fp8Inputs[world];
        for (int r = 0; r < world; r++) inputs[r] = new Fp8Inputs(config, r, Tokens - r, seed: 40 + r);

        Fp8RankResult[] plain = Fp8Step.Run(config, world, inputs);
        Fp8RankResult[] split = Fp8Step.Run(config, world, inputs, split: true);

        for (int r = 0; r < world; r++) Fp8Step.AssertSame(plain[r], split[r], r);
    }

    [Fact]
    public void A_dispatch_while_an_FP8_send_is_in_flight_is_refused_and_the_complete_still_lays_out()
    {
        const int world = 2;
        EpConfig config = Config(EpMode.LowLatency, EpLayout.RankMajor, EpDispatchQuantization.Float8E4M3);
        var refusals = new string[world];
        var totals = new int[world];
        EpGroup[] groups = EpGroup.CreateHost(config, world, new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(20) });
        try
        {
            RankThreads.RunOnce(world, rank =>
            {
                EpGroup g = groups[rank];
                var geometry = new ScalesGeometry(config, world);
                var input = new Fp8Inputs(config, rank, Tokens, seed: 7 + rank);
                using EpHandle h = g.CreateHandle(), other = g.CreateHandle();
                using EpBuffer ids = g.AllocateBuffer(Tokens * TopK * 4), weights = g.AllocateBuffer(Tokens * TopK * 4);
                using EpBuffer x = g.AllocateBuffer(Tokens * config.RowBytes);
                using EpBuffer received = g.AllocateBuffer(config.ReceiveRows(world) * config.ReceivedRowBytes), scales = g.AllocateBuffer(geometry.Elements * 4);
                ids.Upload<int>(input.Ids);
                weights.Upload<float>(input.Weights);
                x.Upload<byte>(input.Bytes);
                EpTensor xT = x.As2D(config.DataType, Tokens, Hidden), rowsT = Fp8Step.Layout(received, config, g, EpDataType.Float8E4M3);
                EpTensor idsT = ids.As2D(EpDataType.Int32, Tokens, TopK), weightsT = weights.As2D(EpDataType.Float32, Tokens, TopK);
                h.Update(idsT, weightsT);
                other.Update(idsT, weightsT);

                g.DispatchSend(h, xT, rowsT, geometry.Tensor(scales));
                refusals[rank] = Assert.Throws<InvalidOperationException>(() => g.Dispatch(other, xT, rowsT, geometry.Tensor(scales))).Message;
                g.Complete(h);
                totals[rank] = g.DownloadToArray<int>(h.ReceivedTotal)[0];
            });
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
        for (int r = 0; r < world; r++)
        {
            Assert.Contains("in flight", refusals[r], StringComparison.Ordinal);
            Assert.True(totals[r] > 0, $"rank {r}: the complete laid out no rows");
        }
    }

    [Fact]
    public void FP8_rows_in_the_window_are_refused_naming_received_before_anything_runs()
    {
        EpConfig config = Config(EpMode.LowLatency, EpLayout.RankMajor, EpDispatchQuantization.Float8E4M3);
        EpGroup[] groups = EpGroup.CreateHost(config, 2);
        try
        {
            EpGroup g = groups[0];
            var geometry = new ScalesGeometry(config, 2);
            using EpHandle h = g.CreateHandle();
            using EpBuffer ids = g.AllocateBuffer(Tokens * TopK * 4), weights = g.AllocateBuffer(Tokens * TopK * 4);
            using EpBuffer x = g.AllocateBuffer(Tokens * config.RowBytes), scales = g.AllocateBuffer(geometry.Elements * 4);
            var input = new Fp8Inputs(config, 0, Tokens, seed: 3);
            ids.Upload<int>(input.Ids);
            weights.Upload<float>(input.Weights);
            h.Update(ids.As2D(EpDataType.Int32, Tokens, TopK), weights.As2D(EpDataType.Float32, Tokens, TopK));
            EpTensor window = g.WindowReceiveRows();
            int size = config.DataType.SizeInBytes();
            // The window's rows seen as FP8 (byte strides equal element strides): the shape and strides the stub accepts.
            EpTensor fp8InWindow = EpTensor.Create3D(window.Data, EpDataType.Float8E4M3, 2, config.MaxTokensPerRank, Hidden,
                window.Stride(0) * size, window.Stride(1) * size);
            EpTensor xT = x.As2D(config.DataType, Tokens, Hidden);

            var plainCall = Assert.Throws<ArgumentException>(() => g.Dispatch(h, xT, fp8InWindow, geometry.Tensor(scales)));
            var sendCall = Assert.Throws<ArgumentException>(() => g.DispatchSend(h, xT, fp8InWindow, geometry.Tensor(scales)));
            foreach (ArgumentException e in new[] { plainCall, sendCall })
            {
                Assert.Equal("received", e.ParamName);
                Assert.Contains("FP8 dispatch", e.Message, StringComparison.Ordinal);
            }
            // Nothing was issued: the window rows of the next operation are still those of operation 1.
            Assert.Equal(window.Data, g.WindowReceiveRows().Data);
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

    private static EpConfig Config(EpMode mode, EpLayout layout, EpDispatchQuantization recipe) =>
        new EpConfig(mode, Experts, Hidden, TopK, Tokens, layout,
            ExpertAlignment: mode == EpMode.HighThroughput && layout == EpLayout.ExpertMajor ? 4 : 1) { DispatchQuantization = recipe };
}
