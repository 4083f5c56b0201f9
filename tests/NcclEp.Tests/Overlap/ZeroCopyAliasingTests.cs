using System;
using NcclEp.Graphs;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests.Overlap;

/// <summary>
/// The aliasing rules of zero-copy receive (issue 22, item 3), each enforced before anything is launched: the window half
/// alternates with every dispatch-route operation and the host tracks it; a descriptor of the wrong half is refused; a
/// combine reads window rows only right after the dispatch that received them there, with its handle; only the
/// rank-major layout receives there; a captured step cannot use them. The backward passes work on window rows too.
/// </summary>
public sealed class ZeroCopyAliasingTests
{
    private static readonly EpConfig RankMajor = new(EpMode.LowLatency, NumExperts: 4, Hidden: 512, TopK: 2, MaxTokensPerRank: 4, EpLayout.RankMajor);

    [Fact]
    public void The_window_rows_alternate_halves_with_each_dispatch_route_operation_and_restart_with_SetActiveRanks()
    {
        using var rank = new SingleRank(RankMajor);
        EpTensor first = rank.Group.WindowReceiveRows();
        Assert.Equal((1L, (long)RankMajor.MaxTokensPerRank, (long)RankMajor.Hidden), (first.Dim(0), first.Dim(1), first.Dim(2)));
        Assert.True(first.Stride(1) > RankMajor.Hidden, "a row stride of one message (header and row)");
        rank.RouteAndDispatch();
        EpTensor second = rank.Group.WindowReceiveRows();
        Assert.NotEqual(first.Data, second.Data);
        rank.Group.Combine(rank.Handle, rank.ReceivedT, rank.CombinedT());  // the combine route leaves the half alone
        Assert.Equal(second.Data, rank.Group.WindowReceiveRows().Data);
        rank.Group.Combine(rank.Handle, rank.ReceivedT, rank.CombinedT(), pass: EpPass.Backward);  // the dispatch route
        Assert.Equal(first.Data, rank.Group.WindowReceiveRows().Data);
        rank.RouteAndDispatch();
        rank.Group.SetActiveRanks([true]);  // sequence numbers restart: the next operation is number 1 again
        Assert.Equal(first.Data, rank.Group.WindowReceiveRows().Data);
    }

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor)]
    public void Layouts_other_than_rank_major_have_no_window_rows_and_say_why(EpMode mode, EpLayout layout)
    {
        using var rank = new SingleRank(RankMajor with { Mode = mode, Layout = layout });
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => rank.Group.WindowReceiveRows());
        Assert.Contains("RankMajor", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_descriptor_of_the_other_half_is_refused_naming_received_and_writes_nothing()
    {
        using var rank = new SingleRank(RankMajor);
        rank.Route();
        EpTensor stale = rank.Group.WindowReceiveRows();
        rank.Group.Dispatch(rank.Handle, rank.XT(), rank.ReceivedT);
        ArgumentException e = rank.AssertRejected<ArgumentException>("received", () => rank.Group.Dispatch(rank.Handle, rank.XT(), stale));
        Assert.Contains("WindowReceiveRows", e.Message, StringComparison.Ordinal);
        rank.AssertRejected<ArgumentException>("received", () => rank.Group.DispatchSend(rank.Handle, rank.XT(), stale));
        Assert.False(rank.Handle.HasSendInFlight);
    }

    [Fact]
    public void A_combine_on_window_rows_gives_the_plain_result_right_after_their_dispatch_with_its_handle()
    {
        using var rank = new SingleRank(RankMajor);
        rank.Route();
        byte[] expected = rank.CombineNow();
        EpTensor window = rank.Group.WindowReceiveRows();
        rank.Group.Dispatch(rank.Handle, rank.XT(), window);
        SingleRank.ExpertsInPlace(rank.Handle, window);
        rank.PoisonOutputs();
        rank.Group.Combine(rank.Handle, window, rank.CombinedT());
        Assert.Equal(expected, Download(rank.Combined, expected.Length));
    }

    [Fact]
    public void A_combine_on_window_rows_after_a_plain_dispatch_with_another_handle_or_after_the_next_dispatch_is_refused()
    {
        using var rank = new SingleRank(RankMajor);
        using EpHandle other = rank.Group.CreateHandle();
        rank.Route();
        other.Update(rank.IdsT(), rank.WeightsT());

        EpTensor window = rank.Group.WindowReceiveRows();
        rank.Group.Dispatch(rank.Handle, rank.XT(), rank.ReceivedT);  // received into the caller's buffer, not the window
        Assert.Contains("did not receive into the window", rank.AssertRejected<ArgumentException>("expertOutputs", () =>
            rank.Group.Combine(rank.Handle, window, rank.CombinedT())).Message, StringComparison.Ordinal);

        window = rank.Group.WindowReceiveRows();
        rank.Group.Dispatch(rank.Handle, rank.XT(), window);
        rank.Group.Dispatch(other, rank.XT(), rank.ReceivedT);
        rank.AssertRejected<ArgumentException>("expertOutputs", () => rank.Group.Combine(other, window, rank.CombinedT()));
        rank.AssertRejected<ArgumentException>("expertOutputs", () => rank.Group.Combine(rank.Handle, window, rank.CombinedT()));

        window = rank.Group.WindowReceiveRows();
        rank.Group.Dispatch(rank.Handle, rank.XT(), window);
        rank.AssertRejected<ArgumentException>("expertOutputs", () => rank.Group.CombineSend(other, window, rank.CombinedT()));
        Assert.False(other.HasSendInFlight);
    }

    [Fact]
    public void A_receive_into_the_window_rows_a_combine_in_flight_still_reads_is_refused_until_its_complete()
    {
        using var rank = new SingleRank(RankMajor);
        using EpHandle other = rank.Group.CreateHandle();
        rank.Route();
        other.Update(rank.IdsT(), rank.WeightsT());
        byte[] expected = rank.CombineNow();
        EpTensor window = rank.Group.WindowReceiveRows();
        rank.Group.Dispatch(rank.Handle, rank.XT(), window);
        SingleRank.ExpertsInPlace(rank.Handle, window);
        rank.Group.CombineSend(rank.Handle, window, rank.CombinedT());
        rank.Group.Dispatch(other, rank.XT(), rank.ReceivedT);  // the other half: allowed while the combine is in flight
        EpTensor next = rank.Group.WindowReceiveRows();
        Assert.Equal(window.Data, next.Data);
        ArgumentException e = Assert.Throws<ArgumentException>(() => rank.Group.Dispatch(other, rank.XT(), next));
        Assert.Equal("received", e.ParamName);
        Assert.Contains("combine-route send in flight", e.Message, StringComparison.Ordinal);
        rank.Group.Complete(rank.Handle);
        Assert.Equal(expected, Download(rank.Combined, expected.Length));
        rank.Group.Dispatch(other, rank.XT(), next);
    }

    [Fact]
    public void Both_backward_passes_on_window_rows_give_the_plain_results()
    {
        using var rank = new SingleRank(RankMajor);
        rank.Route();
        rank.Group.Dispatch(rank.Handle, rank.XT(), rank.ReceivedT);
        rank.Group.Combine(rank.Handle, rank.ReceivedT, rank.CombinedT(), pass: EpPass.Backward);
        byte[] gradRows = Download(rank.Received, (int)rank.Received.Bytes);
        rank.Group.Dispatch(rank.Handle, rank.XT(), rank.ReceivedT, pass: EpPass.Backward);
        byte[] tokenGrad = Download(rank.X, SingleRank.Tokens * RankMajor.RowBytes);

        // Combine(Backward) receives the gradient rows into the window; Dispatch(Backward) sends them home from there.
        EpTensor window = rank.Group.WindowReceiveRows();
        rank.Group.Combine(rank.Handle, window, rank.CombinedT(), pass: EpPass.Backward);
        int[] counts = HostView.Int32s(rank.Handle.ReceivedRankCounts);
        Assert.Equal(RankMajorRows.Read(RankMajor, rank.ReceivedT, counts), RankMajorRows.Read(RankMajor, window, counts));
        Assert.Equal(gradRows, Download(rank.Received, gradRows.Length));
        rank.X.Fill(SingleRank.Poison);
        rank.Group.Dispatch(rank.Handle, rank.XT(), window, pass: EpPass.Backward);
        Assert.Equal(tokenGrad, Download(rank.X, tokenGrad.Length));
    }

    [Fact]
    public void A_captured_step_cannot_take_or_use_window_rows()
    {
        using var rank = new SingleRank(RankMajor);
        rank.Route();
        EpTensor window = rank.Group.WindowReceiveRows();
        Assert.Throws<InvalidOperationException>(() => EpGraph.Capture(rank.Group, default, context => context.Group.WindowReceiveRows()).Dispose());
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() =>
            EpGraph.Capture(rank.Group, default, context => context.Group.Dispatch(rank.Handle, rank.XT(), window, context.Stream)).Dispose());
        Assert.Contains("captured step", e.Message, StringComparison.Ordinal);
        rank.Group.Dispatch(rank.Handle, rank.XT(), window);  // eager use of the same descriptor is fine
    }

    private static byte[] Download(EpBuffer buffer, int bytes)
    {
        var result = new byte[bytes];
        buffer.Download<byte>(result);
        return result;
    }
}
