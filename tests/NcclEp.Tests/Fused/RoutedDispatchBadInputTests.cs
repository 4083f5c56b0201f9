using System;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests.Fused;

/// <summary>
/// The dispatch that routes itself checks what Update and Dispatch check, and its own pairing of the two (the tokens'
/// rows are the routing's tokens; the routing does not lie in an output): each bad argument is refused with the exact
/// exception naming it, before anything is launched (outputs still poisoned, the handle as before), as a plain call and
/// as a send. A bad expert id, read on the host by the Host backend, is refused before the operation is counted.
/// </summary>
public class RoutedDispatchBadInputTests
{
    private static SingleRank Dispatched(EpConfig? config = null)
    {
        var rig = new SingleRank(config);
        rig.RouteAndDispatch();
        return rig;
    }

    /// <summary>The routed dispatch as a plain call or as a send (whose complete then never comes: it is refused).</summary>
    private static void Call(SingleRank rig, bool send, in EpTensor ids, in EpTensor weights, in EpTensor tokens, in EpTensor received)
    {
        if (send) rig.Group.DispatchSend(rig.Handle, ids, weights, tokens, received);
        else rig.Group.Dispatch(rig.Handle, ids, weights, tokens, received);
    }

    [Theory]
    [InlineData(false, 4)]
    [InlineData(true, -2)]
    public void An_expert_id_out_of_range_is_refused_naming_topkIds(bool send, int badId)
    {
        using SingleRank rig = Dispatched();
        byte[] combined = rig.CombineNow();
        rig.Ids.Upload<int>(new[] { 0, 1, 2, badId, 3, 0 });
        rig.AssertRejected<ArgumentOutOfRangeException>("topkIds", () => Call(rig, send, rig.IdsT(), rig.WeightsT(), rig.XT(), rig.ReceivedT));
        Assert.False(rig.Handle.HasSendInFlight);
        Assert.Equal(combined, rig.CombineNow());
    }

    [Fact]
    public void An_expert_picked_twice_by_one_token_is_refused_naming_topkIds()
    {
        using SingleRank rig = Dispatched();
        rig.Ids.Upload<int>(new[] { 0, 1, 2, -1, 3, 3 });
        rig.AssertRejected<ArgumentException>("topkIds", () => Call(rig, false, rig.IdsT(), rig.WeightsT(), rig.XT(), rig.ReceivedT));
    }

    [Fact]
    public void A_refused_id_is_not_counted_so_the_next_window_receive_is_the_same_half()
    {
        var config = new EpConfig(EpMode.LowLatency, NumExperts: 4, Hidden: 512, TopK: 2, MaxTokensPerRank: 4, EpLayout.RankMajor);
        using var rig = new SingleRank(config);
        EpTensor window = rig.Group.WindowReceiveRows();
        rig.Ids.Upload<int>(new[] { 0, 1, 2, 9, 3, 0 });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => rig.Group.Dispatch(rig.Handle, rig.IdsT(), rig.WeightsT(), rig.XT(), window));
        Assert.Equal("topkIds", e.ParamName);
        Assert.False(rig.Handle.HasDispatched);

        // Operation 1 was not issued: the next one still receives into half 1, and the dispatch there succeeds.
        EpTensor next = rig.Group.WindowReceiveRows();
        Assert.Equal(window.Data, next.Data);
        rig.Ids.Upload<int>(new[] { 0, 1, 2, 3, 3, 0 });
        rig.Group.Dispatch(rig.Handle, rig.IdsT(), rig.WeightsT(), rig.XT(), next);
        Assert.Equal(SingleRank.Tokens, rig.Group.DownloadToArray<int>(rig.Handle.ReceivedTotal)[0]);
        Assert.NotEqual(next.Data, rig.Group.WindowReceiveRows().Data);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Ids_that_are_not_int32_are_refused_naming_topkIds(bool send)
    {
        using SingleRank rig = Dispatched();
        EpTensor ids = rig.Ids.As2D(EpDataType.Float32, 3, 2);
        rig.AssertRejected<ArgumentException>("topkIds", () => Call(rig, send, ids, rig.WeightsT(), rig.XT(), rig.ReceivedT));
    }

    [Fact]
    public void More_tokens_than_MaxTokensPerRank_are_refused_naming_topkIds()
    {
        using SingleRank rig = Dispatched();
        using EpBuffer big = rig.Group.AllocateBuffer(5 * 2 * 4);
        EpTensor ids = big.As2D(EpDataType.Int32, 5, 2), weights = big.As2D(EpDataType.Float32, 5, 2);
        rig.AssertRejected<ArgumentOutOfRangeException>("topkIds", () => Call(rig, false, ids, weights, rig.XT(5), rig.ReceivedT));
    }

    [Fact]
    public void Weights_with_another_token_count_are_refused_naming_topkWeights()
    {
        using SingleRank rig = Dispatched();
        rig.AssertRejected<ArgumentException>("topkWeights", () => Call(rig, false, rig.IdsT(3), rig.WeightsT(2), rig.XT(3), rig.ReceivedT));
    }

    [Theory]
    [InlineData(2, 512)]
    [InlineData(4, 512)]
    [InlineData(3, 640)]
    public void Tokens_whose_rows_are_not_the_routings_tokens_are_refused_naming_tokens(int rows, int hidden)
    {
        using SingleRank rig = Dispatched();
        EpTensor tokens = rig.X.As2D(EpDataType.BFloat16, rows, hidden);
        rig.AssertRejected<ArgumentException>("tokens", () => Call(rig, false, rig.IdsT(3), rig.WeightsT(3), tokens, rig.ReceivedT));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_received_of_the_wrong_shape_is_refused_naming_received(bool send)
    {
        using SingleRank rig = Dispatched();
        EpTensor received = rig.Received.As3D(EpDataType.BFloat16, 4, 3, 512);
        rig.AssertRejected<ArgumentException>("received", () => Call(rig, send, rig.IdsT(), rig.WeightsT(), rig.XT(), received));
    }

    [Fact]
    public void Routing_inside_the_output_is_refused_naming_received()
    {
        // The Cuda kernel reads the routing while its receiving blocks write the output: the two must be apart.
        using SingleRank rig = Dispatched();
        int k = rig.Config.TopK;
        EpTensor ids = EpTensor.Create2D(rig.Received.Pointer, EpDataType.Int32, 3, k);
        EpTensor weights = EpTensor.Create2D(rig.Received.Pointer + 256, EpDataType.Float32, 3, k);
        ArgumentException e = rig.AssertRejected<ArgumentException>("received", () => Call(rig, false, ids, rig.WeightsT(), rig.XT(), rig.ReceivedT));
        Assert.Contains("topkIds", e.Message, StringComparison.Ordinal);
        e = rig.AssertRejected<ArgumentException>("received", () => Call(rig, false, rig.IdsT(), weights, rig.XT(), rig.ReceivedT));
        Assert.Contains("topkWeights", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_null_handle_is_refused_naming_handle()
    {
        using SingleRank rig = Dispatched();
        var e = Assert.Throws<ArgumentNullException>(() => rig.Group.Dispatch(null!, rig.IdsT(), rig.WeightsT(), rig.XT(), rig.ReceivedT));
        Assert.Equal("handle", e.ParamName);
    }

    [Fact]
    public void The_FP8_overload_on_a_group_without_a_recipe_is_refused_naming_receivedScales()
    {
        using SingleRank rig = Dispatched();
        using EpBuffer scales = rig.Group.AllocateBuffer(4096);
        EpTensor scalesT = scales.As3D(EpDataType.Float32, 4, 4, 4);
        rig.AssertRejected<ArgumentException>("receivedScales",
            () => rig.Group.Dispatch(rig.Handle, rig.IdsT(), rig.WeightsT(), rig.XT(), rig.ReceivedT, scalesT));
    }

    [Fact]
    public void The_unquantized_overload_on_an_FP8_group_is_refused_naming_receivedScales()
    {
        var config = new EpConfig(EpMode.LowLatency, NumExperts: 4, Hidden: 512, TopK: 2, MaxTokensPerRank: 4, EpLayout.ExpertMajor)
        {
            DispatchQuantization = EpDispatchQuantization.Float8E4M3,
        };
        using var rig = new SingleRank(config);
        var e = Assert.Throws<ArgumentException>(() => rig.Group.Dispatch(rig.Handle, rig.IdsT(), rig.WeightsT(), rig.XT(), rig.ReceivedT));
        Assert.Equal("receivedScales", e.ParamName);
        Assert.Contains("topkIds, topkWeights, tokens, received, receivedScales", e.Message, StringComparison.Ordinal);
        Assert.False(rig.Handle.HasDispatched);
    }

    [Fact]
    public void A_routed_dispatch_while_a_send_is_in_flight_is_refused()
    {
        using SingleRank rig = Dispatched();
        using EpHandle other = rig.Group.CreateHandle();
        rig.Group.DispatchSend(rig.Handle, rig.IdsT(), rig.WeightsT(), rig.XT(), rig.ReceivedT);
        var onHandle = Assert.Throws<InvalidOperationException>(() => rig.Group.Dispatch(rig.Handle, rig.IdsT(), rig.WeightsT(), rig.XT(), rig.ReceivedT));
        var onRoute = Assert.Throws<InvalidOperationException>(() => rig.Group.Dispatch(other, rig.IdsT(), rig.WeightsT(), rig.XT(), rig.ReceivedT));
        Assert.Contains("send in flight", onHandle.Message, StringComparison.Ordinal);
        Assert.Contains("in flight", onRoute.Message, StringComparison.Ordinal);
        Assert.False(other.HasDispatched);
        rig.Group.Complete(rig.Handle);
        Assert.Equal(SingleRank.Tokens, rig.Handle.NumTokens);
    }
}
