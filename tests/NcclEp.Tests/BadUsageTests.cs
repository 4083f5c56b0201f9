using System;
using System.Linq;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests;

/// <summary>Calls out of order, foreign or disposed handles and groups, bad masks: rejected, nothing written.</summary>
public class BadUsageTests
{
    private static void AssertNothingWritten(SingleRank rig, byte[] handleBefore)
    {
        SingleRank.AssertPoisoned(rig.Received);
        SingleRank.AssertPoisoned(rig.Combined);
        Assert.Equal(handleBefore, rig.HandleState());
    }

    [Fact]
    public void Dispatch_before_any_Update_is_an_invalid_operation()
    {
        using var rig = new SingleRank();
        rig.PoisonOutputs();
        byte[] before = rig.HandleState();
        Assert.Throws<InvalidOperationException>(() => rig.Group.Dispatch(rig.Handle, rig.XT(0), rig.ReceivedT));
        AssertNothingWritten(rig, before);
    }

    [Fact]
    public void Combine_before_any_Dispatch_is_an_invalid_operation()
    {
        using var rig = new SingleRank();
        rig.Route();
        rig.PoisonOutputs();
        byte[] before = rig.HandleState();
        Assert.Throws<InvalidOperationException>(() => rig.Group.Combine(rig.Handle, rig.ReceivedT, rig.CombinedT()));
        AssertNothingWritten(rig, before);
    }

    [Fact]
    public void Combine_after_a_new_Update_needs_a_new_Dispatch()
    {
        using var rig = new SingleRank();
        rig.RouteAndDispatch();
        rig.Route();
        rig.PoisonOutputs();
        byte[] before = rig.HandleState();
        Assert.Throws<InvalidOperationException>(() => rig.Group.Combine(rig.Handle, rig.ReceivedT, rig.CombinedT()));
        Assert.Throws<InvalidOperationException>(
            () => rig.Group.Dispatch(rig.Handle, rig.CombinedT(), rig.ReceivedT, pass: EpPass.Backward));
        AssertNothingWritten(rig, before);
    }

    [Fact]
    public void Dispatch_backward_before_a_forward_Dispatch_is_an_invalid_operation()
    {
        using var rig = new SingleRank();
        rig.Route();
        rig.PoisonOutputs();
        byte[] before = rig.HandleState();
        Assert.Throws<InvalidOperationException>(
            () => rig.Group.Dispatch(rig.Handle, rig.CombinedT(), rig.ReceivedT, pass: EpPass.Backward));
        AssertNothingWritten(rig, before);
    }

    [Fact]
    public void A_handle_of_another_group_is_rejected_by_every_call()
    {
        using var rig = new SingleRank();
        using var other = new SingleRank();
        other.RouteAndDispatch();
        rig.AssertRejected<ArgumentException>("handle", () => rig.Group.Dispatch(other.Handle, rig.XT(), rig.ReceivedT));
        rig.AssertRejected<ArgumentException>("handle", () => rig.Group.Combine(other.Handle, rig.ReceivedT, rig.CombinedT()));
        rig.AssertRejected<ArgumentException>("handle",
            () => rig.Group.Dispatch(other.Handle, rig.CombinedT(), rig.ReceivedT, pass: EpPass.Backward));
    }

    [Fact]
    public void A_handle_of_another_rank_of_the_same_world_is_rejected()
    {
        EpGroup[] groups = EpGroup.CreateHost(new EpConfig(EpMode.LowLatency, 4, 512, 2, 4, EpLayout.ExpertMajor), 2);
        using EpHandle handleOfRank1 = groups[1].CreateHandle();
        using EpBuffer rows = groups[0].AllocateBuffer(2 * 4 * 2 * 512 * 2);
        EpTensor received = rows.As3D(EpDataType.BFloat16, 2, 8, 512);
        Assert.Equal("handle", Assert.Throws<ArgumentException>(
            () => groups[0].Dispatch(handleOfRank1, EpTensor.Create2D(0, EpDataType.BFloat16, 0, 512), received)).ParamName);
        foreach (EpGroup g in groups) g.Dispose();
    }

    [Fact]
    public void A_null_handle_is_rejected()
    {
        using var rig = new SingleRank();
        ArgumentNullException dispatch = rig.AssertRejected<ArgumentNullException>("handle", () => rig.Group.Dispatch(null!, rig.XT(), rig.ReceivedT));
        ArgumentNullException combine = rig.AssertRejected<ArgumentNullException>("handle", () => rig.Group.Combine(null!, rig.ReceivedT, rig.CombinedT()));
        // A handle is an object, not a tensor: the message must not speak of a data pointer.
        Assert.DoesNotContain("pointer", dispatch.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pointer", combine.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_disposed_handle_raises_ObjectDisposedException()
    {
        using var rig = new SingleRank();
        rig.RouteAndDispatch();
        rig.Handle.Dispose();
        rig.PoisonOutputs();
        Assert.True(rig.Handle.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => rig.Route());
        Assert.Throws<ObjectDisposedException>(() => rig.Group.Dispatch(rig.Handle, rig.XT(), rig.ReceivedT));
        Assert.Throws<ObjectDisposedException>(() => rig.Group.Combine(rig.Handle, rig.ReceivedT, rig.CombinedT()));
        Assert.Throws<ObjectDisposedException>(() => rig.Handle.ReceivedRankCounts);
        SingleRank.AssertPoisoned(rig.Received);
        SingleRank.AssertPoisoned(rig.Combined);
        rig.Handle.Dispose();
    }

    [Fact]
    public void A_disposed_group_raises_ObjectDisposedException()
    {
        var rig = new SingleRank();
        rig.RouteAndDispatch();
        rig.PoisonOutputs();
        rig.Group.Dispose();
        Assert.True(rig.Group.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => rig.Route());
        Assert.Throws<ObjectDisposedException>(() => rig.Group.Dispatch(rig.Handle, rig.XT(), rig.ReceivedT));
        Assert.Throws<ObjectDisposedException>(() => rig.Group.Combine(rig.Handle, rig.ReceivedT, rig.CombinedT()));
        Assert.Throws<ObjectDisposedException>(() => rig.Group.CreateHandle());
        Assert.Throws<ObjectDisposedException>(() => rig.Group.AllocateBuffer(64));
        Assert.Throws<ObjectDisposedException>(() => rig.Group.SetActiveRanks(new[] { true }));
        SingleRank.AssertPoisoned(rig.Received);
        SingleRank.AssertPoisoned(rig.Combined);
        rig.Dispose();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(0)]
    public void SetActiveRanks_rejects_a_mask_whose_length_is_not_the_world_size(int length)
    {
        EpGroup[] groups = EpGroup.CreateHost(new EpConfig(EpMode.LowLatency, 4, 512, 2, 4, EpLayout.ExpertMajor), 2);
        ArgumentException ex = Assert.Throws<ArgumentException>(() => groups[0].SetActiveRanks(Enumerable.Repeat(true, length).ToArray()));
        Assert.Equal("active", ex.ParamName);
        foreach (EpGroup g in groups) g.Dispose();
    }

    [Fact]
    public void SetActiveRanks_rejects_a_mask_that_masks_the_calling_rank()
    {
        EpGroup[] groups = EpGroup.CreateHost(new EpConfig(EpMode.LowLatency, 4, 512, 2, 4, EpLayout.ExpertMajor), 2);
        Assert.Equal("active", Assert.Throws<ArgumentException>(() => groups[1].SetActiveRanks(new[] { true, false })).ParamName);
        foreach (EpGroup g in groups) g.Dispose();
    }
}
