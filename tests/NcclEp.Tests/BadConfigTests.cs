using System;
using Xunit;

namespace NcclEp.Tests;

/// <summary>EpGroup.CreateHost validates the configuration (EpConfig.Validate) and names the field it rejects.</summary>
public class BadConfigTests
{
    private static void AssertRejected<TException>(string param, Action call) where TException : ArgumentException
    {
        TException ex = Assert.Throws<TException>(call);
        Assert.Equal(param, ex.ParamName);
        Assert.Contains(param, ex.Message, StringComparison.Ordinal);
    }

    private static EpConfig Valid(EpMode mode = EpMode.LowLatency, EpLayout layout = EpLayout.ExpertMajor) =>
        new(mode, NumExperts: 8, Hidden: 512, TopK: 2, MaxTokensPerRank: 4, layout);

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.Flat)]
    [InlineData(EpMode.HighThroughput, EpLayout.RankMajor)]
    [InlineData(EpMode.LowLatency, (EpLayout)3)]
    public void CreateHost_rejects_a_layout_that_the_mode_does_not_offer(EpMode mode, EpLayout layout)
    {
        Assert.False(EpConfig.IsLayoutValid(mode, layout));
        AssertRejected<ArgumentException>("Layout", () => EpGroup.CreateHost(Valid(mode, layout), 2));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(520)]
    [InlineData(384)]
    [InlineData(0)]
    [InlineData(-512)]
    [InlineData(16384 + 128)]
    public void CreateHost_rejects_a_hidden_size_that_is_not_a_multiple_of_128_from_512_to_16384(int hidden)
    {
        AssertRejected<ArgumentOutOfRangeException>("Hidden", () => EpGroup.CreateHost(Valid() with { Hidden = hidden }, 2));
    }

    [Theory]
    [InlineData(512)]
    [InlineData(16384)]
    public void CreateHost_accepts_the_hidden_size_bounds(int hidden)
    {
        EpGroup[] groups = EpGroup.CreateHost(Valid() with { Hidden = hidden, MaxTokensPerRank = 1 }, 1);
        Assert.Equal(hidden, groups[0].Config.Hidden);
        groups[0].Dispose();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(33)]
    public void CreateHost_rejects_topK_outside_1_to_32(int topK)
    {
        AssertRejected<ArgumentOutOfRangeException>("TopK", () => EpGroup.CreateHost(Valid() with { NumExperts = 64, TopK = topK }, 2));
    }

    [Fact]
    public void CreateHost_rejects_topK_above_the_number_of_experts()
    {
        AssertRejected<ArgumentOutOfRangeException>("TopK", () => EpGroup.CreateHost(Valid() with { NumExperts = 4, TopK = 5 }, 2));
    }

    [Theory]
    [InlineData(6, 4)]
    [InlineData(7, 2)]
    [InlineData(0, 1)]
    [InlineData(-8, 2)]
    public void CreateHost_rejects_a_number_of_experts_that_is_not_a_positive_multiple_of_the_world_size(int experts, int world)
    {
        AssertRejected<ArgumentOutOfRangeException>("NumExperts",
            () => EpGroup.CreateHost(Valid() with { NumExperts = experts, TopK = 1 }, world));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    [InlineData((1 << 20) + 1)]
    public void CreateHost_rejects_MaxTokensPerRank_outside_1_to_2_pow_20(int maxTokens)
    {
        AssertRejected<ArgumentOutOfRangeException>("MaxTokensPerRank", () => EpGroup.CreateHost(Valid() with { MaxTokensPerRank = maxTokens }, 2));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    [InlineData(-1)]
    public void CreateHost_rejects_a_world_size_outside_1_to_64(int world)
    {
        AssertRejected<ArgumentOutOfRangeException>("worldSize", () => EpGroup.CreateHost(Valid() with { NumExperts = 64 * 65 }, world));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1025)]
    public void CreateHost_rejects_an_expert_alignment_outside_1_to_1024(int alignment)
    {
        AssertRejected<ArgumentOutOfRangeException>("ExpertAlignment",
            () => EpGroup.CreateHost(Valid(EpMode.HighThroughput) with { ExpertAlignment = alignment }, 2));
    }

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat)]
    public void CreateHost_rejects_an_expert_alignment_outside_high_throughput_expert_major(EpMode mode, EpLayout layout)
    {
        AssertRejected<ArgumentException>("ExpertAlignment", () => EpGroup.CreateHost(Valid(mode, layout) with { ExpertAlignment = 4 }, 2));
    }

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat)]
    public void CreateHost_rejects_per_rank_combine_partials_outside_the_expert_major_layout(EpMode mode, EpLayout layout)
    {
        AssertRejected<ArgumentException>("CombineReduction",
            () => EpGroup.CreateHost(Valid(mode, layout) with { CombineReduction = EpCombineReduction.PerRank }, 2));
        // PerSlot, the default, is what those layouts do per rank already: accepted.
        using EpGroup g = EpGroup.CreateHost(Valid(mode, layout) with { CombineReduction = EpCombineReduction.PerSlot }, 1)[0];
        Assert.Equal(EpCombineReduction.PerSlot, g.Config.CombineReduction);
    }

    [Fact]
    public void CreateHost_rejects_an_undefined_combine_reduction()
    {
        AssertRejected<ArgumentOutOfRangeException>("CombineReduction",
            () => EpGroup.CreateHost(Valid() with { CombineReduction = (EpCombineReduction)2 }, 2));
    }

    [Fact]
    public void CreateHost_rejects_token_rows_that_are_not_bf16_or_fp32()
    {
        AssertRejected<ArgumentException>("DataType", () => EpGroup.CreateHost(Valid() with { DataType = EpDataType.Int32 }, 2));
    }

    [Fact]
    public void CreateHost_rejects_an_undefined_mode()
    {
        AssertRejected<ArgumentOutOfRangeException>("Mode", () => EpGroup.CreateHost(Valid((EpMode)5), 2));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1025)]
    public void CreateHost_rejects_a_number_of_SMs_outside_0_to_1024(int sms)
    {
        AssertRejected<ArgumentOutOfRangeException>("NumSms", () => EpGroup.CreateHost(Valid() with { NumSms = sms }, 2));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void CreateHost_rejects_a_peer_timeout_that_is_not_positive(int milliseconds)
    {
        var options = new EpGroupOptions { PeerTimeout = TimeSpan.FromMilliseconds(milliseconds) };
        AssertRejected<ArgumentException>("options", () => EpGroup.CreateHost(Valid(), 2, options));
    }

    [Fact]
    public void CreateHost_rejects_a_dispatch_output_of_more_than_int_max_rows()
    {
        EpConfig huge = new(EpMode.LowLatency, NumExperts: 4096, Hidden: 512, TopK: 1, MaxTokensPerRank: 1 << 20, EpLayout.ExpertMajor);
        AssertRejected<ArgumentException>("MaxTokensPerRank", () => EpGroup.CreateHost(huge, 1));
    }

    [Fact]
    public void AllocateBuffer_rejects_a_size_that_is_not_positive()
    {
        EpGroup group = EpGroup.CreateHost(Valid(), 1)[0];
        AssertRejected<ArgumentOutOfRangeException>("bytes", () => group.AllocateBuffer(0));
        AssertRejected<ArgumentOutOfRangeException>("bytes", () => group.AllocateBuffer(-16));
        group.Dispose();
    }
}
