using System;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests;

/// <summary>
/// Every bad data-path argument is rejected before anything is launched: the exact exception type, naming the
/// argument, with the outputs still poisoned and the handle (after a valid dispatch) reading as before.
/// </summary>
public class BadInputTests
{
    private static SingleRank Dispatched()
    {
        var rig = new SingleRank();
        rig.RouteAndDispatch();
        return rig;
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(int.MaxValue)]
    [InlineData(-2)]
    [InlineData(int.MinValue)]
    public void Update_rejects_an_expert_id_outside_minus_one_to_NumExperts(int badId)
    {
        using SingleRank rig = Dispatched();
        byte[] combined = rig.CombineNow();
        rig.Ids.Upload<int>(new[] { 0, 1, 2, badId, 3, 0 });
        rig.AssertRejected<ArgumentOutOfRangeException>("topkIds", () => rig.Route());
        Assert.Equal(combined, rig.CombineNow());
    }

    [Fact]
    public void Update_rejects_an_expert_picked_twice_by_one_token()
    {
        using SingleRank rig = Dispatched();
        byte[] combined = rig.CombineNow();
        rig.Ids.Upload<int>(new[] { 0, 1, 2, -1, 3, 3 });
        rig.AssertRejected<ArgumentException>("topkIds", () => rig.Route());
        Assert.Equal(combined, rig.CombineNow());
    }

    [Fact]
    public void Update_accepts_minus_one_twice_in_a_token()
    {
        using var rig = new SingleRank();
        rig.Ids.Upload<int>(new[] { -1, -1, 2, -1, 3, 1 });
        rig.Route();
        Assert.Equal(SingleRank.Tokens, rig.Handle.NumTokens);
    }

    [Fact]
    public void Update_rejects_more_tokens_than_MaxTokensPerRank()
    {
        using SingleRank rig = Dispatched();
        using EpBuffer big = rig.Group.AllocateBuffer(5 * 2 * 4);
        big.Upload<int>(new[] { 0, 1, 1, 2, 2, 3, 3, 0, 0, 2 });
        EpTensor ids = big.As2D(EpDataType.Int32, 5, 2), weights = big.As2D(EpDataType.Float32, 5, 2);
        byte[] combined = rig.CombineNow();
        rig.AssertRejected<ArgumentOutOfRangeException>("topkIds", () => rig.Handle.Update(ids, weights));
        Assert.Equal(combined, rig.CombineNow());
    }

    [Fact]
    public void Update_rejects_weights_with_other_token_count_than_ids()
    {
        using SingleRank rig = Dispatched();
        rig.AssertRejected<ArgumentException>("topkWeights", () => rig.Handle.Update(rig.IdsT(3), rig.WeightsT(2)));
    }

    [Fact]
    public void Update_rejects_weights_with_other_topK_than_the_config()
    {
        using SingleRank rig = Dispatched();
        EpTensor weights = rig.Weights.As2D(EpDataType.Float32, 3, 1);
        rig.AssertRejected<ArgumentException>("topkWeights", () => rig.Handle.Update(rig.IdsT(), weights));
    }

    [Fact]
    public void Update_rejects_ids_with_other_topK_than_the_config()
    {
        using SingleRank rig = Dispatched();
        EpTensor ids = rig.Ids.As2D(EpDataType.Int32, 2, 3);
        rig.AssertRejected<ArgumentException>("topkIds", () => rig.Handle.Update(ids, rig.WeightsT(2)));
    }

    [Fact]
    public void Update_rejects_ids_that_are_not_int32()
    {
        using SingleRank rig = Dispatched();
        EpTensor ids = rig.Ids.As2D(EpDataType.Float32, 3, 2);
        rig.AssertRejected<ArgumentException>("topkIds", () => rig.Handle.Update(ids, rig.WeightsT()));
    }

    [Fact]
    public void Update_rejects_weights_that_are_not_float32()
    {
        using SingleRank rig = Dispatched();
        EpTensor weights = rig.Weights.As2D(EpDataType.Int32, 3, 2);
        rig.AssertRejected<ArgumentException>("topkWeights", () => rig.Handle.Update(rig.IdsT(), weights));
    }

    [Fact]
    public void Update_rejects_one_dimensional_ids()
    {
        using SingleRank rig = Dispatched();
        EpTensor ids = EpTensor.Create1D(rig.Ids.Pointer, EpDataType.Int32, 6);
        rig.AssertRejected<ArgumentException>("topkIds", () => rig.Handle.Update(ids, rig.WeightsT()));
    }

    [Fact]
    public void Update_rejects_ids_whose_last_dimension_is_not_contiguous()
    {
        using SingleRank rig = Dispatched();
        EpTensor ids = EpTensor.Create2D(rig.Ids.Pointer, EpDataType.Int32, 3, 2, 4, 2);
        rig.AssertRejected<ArgumentException>("topkIds", () => rig.Handle.Update(ids, rig.WeightsT()));
    }

    [Fact]
    public void Update_rejects_a_misaligned_ids_pointer()
    {
        using SingleRank rig = Dispatched();
        EpTensor ids = EpTensor.Create2D(rig.Ids.Pointer + 2, EpDataType.Int32, 3, 2);
        rig.AssertRejected<ArgumentException>("topkIds", () => rig.Handle.Update(ids, rig.WeightsT()));
    }

    [Fact]
    public void Update_rejects_null_ids_and_null_weights()
    {
        using SingleRank rig = Dispatched();
        EpTensor nullIds = EpTensor.Create2D(0, EpDataType.Int32, 3, 2), nullWeights = EpTensor.Create2D(0, EpDataType.Float32, 3, 2);
        rig.AssertRejected<ArgumentNullException>("topkIds", () => rig.Handle.Update(nullIds, rig.WeightsT()));
        rig.AssertRejected<ArgumentNullException>("topkWeights", () => rig.Handle.Update(rig.IdsT(), nullWeights));
    }

    [Fact]
    public void Dispatch_rejects_tokens_of_the_wrong_dtype()
    {
        using SingleRank rig = Dispatched();
        EpTensor tokens = rig.X.As2D(EpDataType.Float32, 3, 512);
        rig.AssertRejected<ArgumentException>("tokens", () => rig.Group.Dispatch(rig.Handle, tokens, rig.ReceivedT));
    }

    [Theory]
    [InlineData(2, 512)]
    [InlineData(4, 512)]
    [InlineData(3, 640)]
    public void Dispatch_rejects_tokens_whose_shape_differs_from_the_routing(int rows, int hidden)
    {
        using SingleRank rig = Dispatched();
        EpTensor tokens = rig.X.As2D(EpDataType.BFloat16, rows, hidden);
        rig.AssertRejected<ArgumentException>("tokens", () => rig.Group.Dispatch(rig.Handle, tokens, rig.ReceivedT));
    }

    [Fact]
    public void Dispatch_rejects_tokens_whose_last_dimension_is_not_contiguous()
    {
        using SingleRank rig = Dispatched();
        EpTensor tokens = EpTensor.Create2D(rig.X.Pointer, EpDataType.BFloat16, 3, 512, 1024, 2);
        rig.AssertRejected<ArgumentException>("tokens", () => rig.Group.Dispatch(rig.Handle, tokens, rig.ReceivedT));
    }

    [Fact]
    public void Dispatch_rejects_tokens_with_a_row_stride_that_is_not_16_byte_aligned()
    {
        using SingleRank rig = Dispatched();
        EpTensor tokens = EpTensor.Create2D(rig.X.Pointer, EpDataType.BFloat16, 3, 512, 513);
        rig.AssertRejected<ArgumentException>("tokens", () => rig.Group.Dispatch(rig.Handle, tokens, rig.ReceivedT));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    public void Dispatch_rejects_a_misaligned_tokens_pointer(int offset)
    {
        using SingleRank rig = Dispatched();
        EpTensor tokens = EpTensor.Create2D(rig.X.Pointer + offset, EpDataType.BFloat16, 3, 512);
        rig.AssertRejected<ArgumentException>("tokens", () => rig.Group.Dispatch(rig.Handle, tokens, rig.ReceivedT));
    }

    [Fact]
    public void Dispatch_rejects_a_misaligned_received_pointer()
    {
        using SingleRank rig = Dispatched();
        EpTensor received = EpTensor.Create3D(rig.Received.Pointer + 4, EpDataType.BFloat16, 4, 4, 512);
        rig.AssertRejected<ArgumentException>("received", () => rig.Group.Dispatch(rig.Handle, rig.XT(), received));
    }

    [Fact]
    public void Dispatch_rejects_null_tokens_and_null_received()
    {
        using SingleRank rig = Dispatched();
        EpTensor nullTokens = EpTensor.Create2D(0, EpDataType.BFloat16, 3, 512), nullReceived = EpTensor.Create3D(0, EpDataType.BFloat16, 4, 4, 512);
        rig.AssertRejected<ArgumentNullException>("tokens", () => rig.Group.Dispatch(rig.Handle, nullTokens, rig.ReceivedT));
        rig.AssertRejected<ArgumentNullException>("received", () => rig.Group.Dispatch(rig.Handle, rig.XT(), nullReceived));
    }

    [Theory]
    [InlineData(3, 4, 512)]
    [InlineData(4, 3, 512)]
    [InlineData(4, 4, 640)]
    public void Dispatch_rejects_a_received_tensor_of_the_wrong_shape(int experts, int rows, int hidden)
    {
        using SingleRank rig = Dispatched();
        EpTensor received = rig.Received.As3D(EpDataType.BFloat16, experts, rows, hidden);
        rig.AssertRejected<ArgumentException>("received", () => rig.Group.Dispatch(rig.Handle, rig.XT(), received));
    }

    [Fact]
    public void Dispatch_rejects_a_two_dimensional_received_tensor_for_low_latency_expert_major()
    {
        using SingleRank rig = Dispatched();
        EpTensor received = rig.Received.As2D(EpDataType.BFloat16, 16, 512);
        rig.AssertRejected<ArgumentException>("received", () => rig.Group.Dispatch(rig.Handle, rig.XT(), received));
    }

    [Fact]
    public void Dispatch_rejects_a_flat_received_tensor_with_fewer_rows_than_ReceiveRows()
    {
        using var rig = new SingleRank(new EpConfig(EpMode.HighThroughput, 4, 512, 2, 4, EpLayout.Flat));
        rig.RouteAndDispatch();
        EpTensor received = rig.Received.As2D(EpDataType.BFloat16, rig.Config.ReceiveRows(1) - 1, 512);
        rig.AssertRejected<ArgumentException>("received", () => rig.Group.Dispatch(rig.Handle, rig.XT(), received));
    }

    [Fact]
    public void Dispatch_rejects_tokens_that_overlap_the_received_rows()
    {
        using SingleRank rig = Dispatched();
        EpTensor tokens = rig.Received.As2D(EpDataType.BFloat16, 3, 512, byteOffset: 1024 * 5);
        rig.Received.Fill(SingleRank.Poison);
        Assert.Equal("received", Assert.Throws<ArgumentException>(() => rig.Group.Dispatch(rig.Handle, tokens, rig.ReceivedT)).ParamName);
        SingleRank.AssertPoisoned(rig.Received);
    }

    [Fact]
    public void Combine_rejects_combined_and_expert_outputs_of_the_wrong_shape()
    {
        using SingleRank rig = Dispatched();
        EpTensor wrongRows = rig.Combined.As2D(EpDataType.BFloat16, 2, 512);
        EpTensor wrongOutputs = rig.Received.As3D(EpDataType.BFloat16, 4, 4, 640);
        rig.AssertRejected<ArgumentException>("combined", () => rig.Group.Combine(rig.Handle, rig.ReceivedT, wrongRows));
        rig.AssertRejected<ArgumentException>("expertOutputs", () => rig.Group.Combine(rig.Handle, wrongOutputs, rig.CombinedT()));
        rig.AssertRejected<ArgumentException>("combined",
            () => rig.Group.Combine(rig.Handle, rig.ReceivedT, rig.Combined.As2D(EpDataType.Float32, 3, 512)));
    }

    [Fact]
    public void Dispatch_and_combine_reject_a_pass_that_is_not_forward_or_backward()
    {
        using SingleRank rig = Dispatched();
        rig.AssertRejected<ArgumentOutOfRangeException>("pass", () => rig.Group.Dispatch(rig.Handle, rig.XT(), rig.ReceivedT, pass: (EpPass)2));
        rig.AssertRejected<ArgumentOutOfRangeException>("pass", () => rig.Group.Combine(rig.Handle, rig.ReceivedT, rig.CombinedT(), pass: (EpPass)7));
    }
}
