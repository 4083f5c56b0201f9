using System;
using System.Diagnostics;
using NcclEp.Backend;
using Xunit;

namespace NcclEp.Tests;

/// <summary>EpConfig.EstimateMemory and the refusal of a configuration that cannot fit, before anything is allocated.</summary>
public class MemoryEstimateTests
{
    private static readonly EpConfig Small = new(EpMode.LowLatency, NumExperts: 8, Hidden: 512, TopK: 2, MaxTokensPerRank: 4, EpLayout.ExpertMajor);

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor, 1)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor, 1)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat, 1)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor, 8)]
    public void Estimate_parts_are_the_sizes_the_backends_allocate_and_the_caller_needs(EpMode mode, EpLayout layout, int alignment)
    {
        var config = new EpConfig(mode, NumExperts: 16, Hidden: 1024, TopK: 4, MaxTokensPerRank: 64, layout, ExpertAlignment: alignment);
        const int World = 4;
        EpMemoryEstimate estimate = config.EstimateMemory(World);

        Assert.Equal(World, estimate.Ranks);
        Assert.Equal(new WindowLayout(config, World).TotalBytes, estimate.WindowBytes);
        Assert.Equal(new HandleLayout(config, World).TotalBytes, estimate.HandleBytes);
        // Tokens in and combined out (bf16 rows), top-k ids (int) and weights (float) for MaxTokensPerRank tokens.
        Assert.Equal((64L * 1024 * 2 * 2) + (64L * 4 * 4 * 2), estimate.TokenBytes);
        // The dispatch output and the expert outputs: ReceiveRows rows of the layout each.
        Assert.Equal(2 * config.ReceiveRows(World) * 1024 * 2, estimate.LayoutBytes);
        Assert.Equal(estimate.WindowBytes + estimate.HandleBytes + estimate.TokenBytes + estimate.LayoutBytes, estimate.PerRankBytes);
        Assert.Equal(estimate.PerRankBytes * World, estimate.TotalBytes);
        Assert.Equal(estimate.PerRankBytes, estimate.ForRanks(1).TotalBytes);
    }

    [Fact]
    public void A_handle_allocates_what_the_estimate_counts_for_it()
    {
        EpGroup group = EpGroup.CreateHost(Small, 1)[0];
        using EpHandle handle = group.CreateHandle();
        Assert.Equal(Small.EstimateMemory(1).HandleBytes, handle.Layout.TotalBytes);
        group.Dispose();
    }

    [Fact]
    public void Estimate_grows_with_the_tokens_per_rank()
    {
        EpMemoryEstimate small = Small.EstimateMemory(2), large = (Small with { MaxTokensPerRank = 64 }).EstimateMemory(2);
        Assert.True(large.WindowBytes > small.WindowBytes);
        Assert.True(large.HandleBytes > small.HandleBytes);
        Assert.True(large.TokenBytes > small.TokenBytes);
        Assert.True(large.LayoutBytes > small.LayoutBytes);
    }

    [Fact]
    public void Estimate_of_an_invalid_configuration_names_the_field() =>
        Assert.Equal("Hidden", Assert.Throws<ArgumentOutOfRangeException>(() => (Small with { Hidden = 100 }).EstimateMemory(2)).ParamName);

    [Fact]
    public void Estimate_prints_the_total_and_every_part()
    {
        string text = Small.EstimateMemory(2).ToString();
        Assert.StartsWith(EpMemoryEstimate.Format(Small.EstimateMemory(2).TotalBytes) + " = 2 ranks × ", text, StringComparison.Ordinal);
        foreach (string part in new[] { "window ", "handle ", "token tensors ", "dispatch output + expert outputs " })
            Assert.Contains(part, text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(1536, "1.5 KiB")]
    [InlineData(3L << 30, "3.0 GiB")]
    public void Format_uses_binary_units(long bytes, string expected) => Assert.Equal(expected, EpMemoryEstimate.Format(bytes));

    [Fact]
    public void CreateHost_refuses_a_configuration_larger_than_any_machine_at_once_with_the_numbers()
    {
        // 64 ranks × 2^20 tokens of 16384 fp32 elements: petabytes.
        var huge = new EpConfig(EpMode.HighThroughput, NumExperts: 64, Hidden: 16384, TopK: 1, MaxTokensPerRank: 1 << 20, EpLayout.Flat, EpDataType.Float32);
        var clock = Stopwatch.StartNew();
        EpMemoryException e = Assert.Throws<EpMemoryException>(() => EpGroup.CreateHost(huge, 64));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed}");
        Assert.Equal(huge.EstimateMemory(64), e.Estimate);
        Assert.True(e.AvailableBytes > 0 && e.AvailableBytes < e.Estimate.TotalBytes);
        Assert.Equal("this machine", e.Memory);
        Assert.Contains(EpMemoryEstimate.Format(e.Estimate.TotalBytes), e.Message, StringComparison.Ordinal);
        Assert.Contains(EpMemoryEstimate.Format(e.AvailableBytes) + " is available", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateHost_refuses_when_less_is_available_than_needed_unless_the_check_is_off()
    {
        long needed = Small.EstimateMemory(2).TotalBytes;
        MemoryGuard.AvailableForTests.Value = needed - 1;
        try
        {
            EpMemoryException e = Assert.Throws<EpMemoryException>(() => EpGroup.CreateHost(Small, 2));
            Assert.Equal(needed - 1, e.AvailableBytes);
            Assert.Contains("set by a test", e.Message, StringComparison.Ordinal);

            EpGroup[] groups = EpGroup.CreateHost(Small, 2, new EpGroupOptions { CheckMemory = false });
            foreach (EpGroup g in groups) g.Dispose();

            MemoryGuard.AvailableForTests.Value = needed;
            groups = EpGroup.CreateHost(Small, 2);
            foreach (EpGroup g in groups) g.Dispose();
        }
        finally
        {
            MemoryGuard.AvailableForTests.Value = null;
        }
    }

    [Fact]
    public void The_check_is_on_by_default() => Assert.True(EpGroupOptions.Default.CheckMemory);

    [Theory]
    [InlineData("MemAvailable:   20000000 kB", 20000000L * 1024)]
    [InlineData("MemAvailable: 7", 7L)]
    [InlineData("MemFree:        20000000 kB", null)]
    [InlineData("MemAvailable:", null)]
    public void MemAvailable_lines_are_read_in_bytes(string line, long? expected) => Assert.Equal(expected, MemoryGuard.ParseMemAvailable(line));

    [Fact]
    public void Available_host_memory_is_positive_and_at_most_the_runtime_limit()
    {
        long available = MemoryGuard.HostAvailableBytes(out string source);
        Assert.True(available > 0, source);
        Assert.True(available <= GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, source);
    }
}
