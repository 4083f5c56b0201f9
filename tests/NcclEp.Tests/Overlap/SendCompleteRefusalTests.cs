using System;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests.Overlap;

/// <summary>
/// What send/complete refuses (issue 22, item 2), each before anything is launched: a second operation on a route whose
/// send is in flight (the window's two halves allow one), any other call on the handle of a send, a complete with no send,
/// and a complete after SetActiveRanks abandoned the send. Every refusal leaves the send in flight intact: its complete
/// still gives the plain call's result.
/// </summary>
public sealed class SendCompleteRefusalTests
{
    [Fact]
    public void A_second_send_or_plain_call_on_a_route_with_a_send_in_flight_is_refused_and_writes_nothing()
    {
        using var rank = new SingleRank();
        using EpHandle other = rank.Group.CreateHandle();
        rank.Route();
        other.Update(rank.IdsT(), rank.WeightsT());
        byte[] expected = rank.CombineNow();
        rank.Group.Dispatch(rank.Handle, rank.XT(), rank.ReceivedT);
        rank.Group.Dispatch(other, rank.XT(), rank.ReceivedT);

        rank.Group.DispatchSend(rank.Handle, rank.XT(), rank.ReceivedT);
        rank.PoisonOutputs();
        InvalidOperationException second = Assert.Throws<InvalidOperationException>(() => rank.Group.DispatchSend(other, rank.XT(), rank.ReceivedT));
        Assert.Contains("DispatchSend in flight", second.Message, StringComparison.Ordinal);
        Assert.Contains("two halves", second.Message, StringComparison.Ordinal);
        Assert.Contains("EpGroup.Complete", second.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => rank.Group.Dispatch(other, rank.XT(), rank.ReceivedT));
        Assert.Throws<InvalidOperationException>(() => rank.Group.Combine(other, rank.ReceivedT, rank.CombinedT(), pass: EpPass.Backward));
        Assert.Throws<InvalidOperationException>(() => rank.Group.CombineSend(other, rank.ReceivedT, rank.CombinedT(), pass: EpPass.Backward));
        SingleRank.AssertPoisoned(rank.Received);
        SingleRank.AssertPoisoned(rank.Combined);
        Assert.False(other.HasSendInFlight);

        rank.Group.Complete(rank.Handle);
        SingleRank.ExpertsInPlace(rank.Handle, rank.ReceivedT);
        rank.Group.Combine(rank.Handle, rank.ReceivedT, rank.CombinedT());
        Assert.Equal(expected, Download(rank.Combined, expected.Length));
    }

    [Fact]
    public void The_other_route_stays_free_while_a_send_is_in_flight()
    {
        using var rank = new SingleRank();
        using EpHandle other = rank.Group.CreateHandle();
        using EpBuffer otherReceived = rank.Group.AllocateBuffer(rank.Received.Bytes);
        EpTensor otherRows = Retarget(rank.ReceivedT, otherReceived);
        rank.Route();
        other.Update(rank.IdsT(), rank.WeightsT());
        byte[] expected = rank.CombineNow();
        rank.Group.Dispatch(other, rank.XT(), otherRows);
        SingleRank.ExpertsInPlace(other, otherRows);

        rank.Group.DispatchSend(rank.Handle, rank.XT(), rank.ReceivedT);  // dispatch route in flight
        rank.Group.CombineSend(other, otherRows, rank.CombinedT());      // combine route: allowed
        Assert.True(rank.Handle.HasSendInFlight && other.HasSendInFlight);
        rank.Group.Complete(other);
        Assert.Equal(expected, Download(rank.Combined, expected.Length));
        rank.Group.Complete(rank.Handle);
    }

    [Fact]
    public void Every_other_call_on_the_handle_of_a_send_is_refused_until_its_complete()
    {
        using var rank = new SingleRank();
        rank.RouteAndDispatch();
        rank.Group.CombineSend(rank.Handle, rank.ReceivedT, rank.CombinedT());
        Action[] calls =
        [
            () => rank.Handle.Update(rank.IdsT(), rank.WeightsT()),
            () => rank.Group.Dispatch(rank.Handle, rank.XT(), rank.ReceivedT),
            () => rank.Group.Combine(rank.Handle, rank.ReceivedT, rank.CombinedT(), pass: EpPass.Backward),
            () => rank.Group.DispatchSend(rank.Handle, rank.XT(), rank.ReceivedT),
            () => rank.Group.CombineSend(rank.Handle, rank.ReceivedT, rank.CombinedT()),
        ];
        foreach (Action call in calls)
        {
            InvalidOperationException e = Assert.Throws<InvalidOperationException>(call);
            Assert.Contains("send in flight", e.Message, StringComparison.Ordinal);
        }
        rank.Group.Complete(rank.Handle);
        rank.Handle.Update(rank.IdsT(), rank.WeightsT());  // free again
    }

    [Fact]
    public void A_complete_without_a_send_in_flight_is_refused_and_a_second_complete_too()
    {
        using var rank = new SingleRank();
        rank.RouteAndDispatch();
        InvalidOperationException none = Assert.Throws<InvalidOperationException>(() => rank.Group.Complete(rank.Handle));
        Assert.Contains("no send in flight", none.Message, StringComparison.Ordinal);
        rank.Group.CombineSend(rank.Handle, rank.ReceivedT, rank.CombinedT());
        rank.Group.Complete(rank.Handle);
        Assert.Throws<InvalidOperationException>(() => rank.Group.Complete(rank.Handle));
        Assert.Equal("handle", Assert.Throws<ArgumentNullException>(() => rank.Group.Complete(null!)).ParamName);
    }

    [Fact]
    public void A_complete_on_another_groups_handle_is_refused_naming_handle()
    {
        using var rank = new SingleRank();
        using var stranger = new SingleRank();
        stranger.RouteAndDispatch();
        stranger.Group.CombineSend(stranger.Handle, stranger.ReceivedT, stranger.CombinedT());
        Assert.Equal("handle", Assert.Throws<ArgumentException>(() => rank.Group.Complete(stranger.Handle)).ParamName);
        stranger.Group.Complete(stranger.Handle);
    }

    [Fact]
    public void SetActiveRanks_abandons_a_send_in_flight_so_its_complete_is_refused_and_the_route_is_free()
    {
        using var rank = new SingleRank();
        rank.Route();
        byte[] expected = rank.CombineNow();
        rank.Group.CombineSend(rank.Handle, rank.ReceivedT, rank.CombinedT());
        rank.Group.SetActiveRanks([true]);
        Assert.False(rank.Handle.HasSendInFlight);
        Assert.Throws<InvalidOperationException>(() => rank.Group.Complete(rank.Handle));
        rank.Route();
        Assert.Equal(expected, rank.CombineNow());  // a fresh round on the same handle and route
    }

    private static EpTensor Retarget(in EpTensor t, EpBuffer buffer) =>
        t.DimensionCount == 3 ? buffer.As3D(t.DataType, t.Dim(0), t.Dim(1), t.Dim(2)) : buffer.As2D(t.DataType, t.Dim(0), t.Dim(1));

    private static byte[] Download(EpBuffer buffer, int bytes)
    {
        var result = new byte[bytes];
        buffer.Download<byte>(result);
        return result;
    }
}
