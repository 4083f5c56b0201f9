using System;
using NcclEp.Graphs;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests.HandleMemory;

/// <summary>
/// Handles in caller-owned memory (issue 22, item 4): the size and alignment a group states, every check on the caller's
/// memory (each naming its argument, and writing nothing when it refuses), and what disposal does and does not free.
/// </summary>
public sealed class HandleMemoryCheckTests
{
    private const byte Pattern = 0x5A;

    [Theory]
    [InlineData(EpMode.LowLatency, EpLayout.ExpertMajor)]
    [InlineData(EpMode.LowLatency, EpLayout.RankMajor)]
    [InlineData(EpMode.HighThroughput, EpLayout.Flat)]
    [InlineData(EpMode.HighThroughput, EpLayout.ExpertMajor)]
    public void Every_rank_states_the_same_handle_size_a_whole_number_of_aligned_lines_and_a_buffer_of_exactly_that_size_holds_a_handle(EpMode mode, EpLayout layout)
    {
        var config = new EpConfig(mode, NumExperts: 12, Hidden: 512, TopK: 3, MaxTokensPerRank: 7, layout);
        EpGroup[] groups = EpGroup.CreateHost(config, 3);
        try
        {
            long bytes = groups[0].HandleBytes;
            Assert.All(groups, g => Assert.Equal(bytes, g.HandleBytes));
            Assert.True(bytes > 0 && bytes % EpGroup.HandleAlignment == 0, $"HandleBytes = {bytes}");
            using EpBuffer exact = groups[1].AllocateBuffer(bytes);
            using EpHandle handle = groups[1].CreateHandle(exact);
            Assert.False(handle.OwnsMemory);
            Assert.Equal(exact.Pointer, handle.MemoryPointer);
            using EpHandle owned = groups[1].CreateHandle();
            Assert.True(owned.OwnsMemory);
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

    [Fact]
    public void A_handle_size_depends_on_the_group_so_a_larger_group_needs_more()
    {
        var config = new EpConfig(EpMode.LowLatency, NumExperts: 12, Hidden: 512, TopK: 3, MaxTokensPerRank: 7, EpLayout.RankMajor);
        EpGroup small = EpGroup.CreateHost(config, 1)[0];
        EpGroup[] large = EpGroup.CreateHost(config with { MaxTokensPerRank = 70 }, 2);
        try
        {
            Assert.True(large[0].HandleBytes > small.HandleBytes, $"{large[0].HandleBytes} against {small.HandleBytes}");
            using EpBuffer memory = small.AllocateBuffer(small.HandleBytes);
            ArgumentException e = Assert.Throws<ArgumentException>(() => large[0].CreateHandle(memory));
            Assert.Equal("memory", e.ParamName);
        }
        finally
        {
            small.Dispose();
            foreach (EpGroup g in large) g.Dispose();
        }
    }

    [Fact]
    public void A_buffer_one_byte_too_small_is_refused_naming_memory_with_both_sizes_and_left_unwritten()
    {
        using var rank = new SingleRank();
        long bytes = rank.Group.HandleBytes;
        using EpBuffer memory = Patterned(rank.Group, bytes - 1);
        ArgumentException e = Assert.Throws<ArgumentException>(() => rank.Group.CreateHandle(memory));
        Assert.Equal("memory", e.ParamName);
        Assert.Contains($"{bytes} bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains($"holds {bytes - 1}", e.Message, StringComparison.Ordinal);
        AssertPattern(memory);
    }

    [Fact]
    public void An_offset_past_which_the_handle_does_not_fit_is_refused_naming_memory()
    {
        using var rank = new SingleRank();
        long bytes = rank.Group.HandleBytes;
        using EpBuffer memory = Patterned(rank.Group, bytes + EpGroup.HandleAlignment);
        using EpHandle fits = rank.Group.CreateHandle(memory, EpGroup.HandleAlignment);
        ArgumentException e = Assert.Throws<ArgumentException>(() => rank.Group.CreateHandle(memory, 2 * EpGroup.HandleAlignment));
        Assert.Equal("memory", e.ParamName);
        Assert.Contains($"from byte offset {2 * EpGroup.HandleAlignment}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_misaligned_offset_is_refused_naming_byteOffset_and_the_alignment()
    {
        using var rank = new SingleRank();
        using EpBuffer memory = Patterned(rank.Group, rank.Group.HandleBytes + (2 * EpGroup.HandleAlignment));
        ArgumentException e = Assert.Throws<ArgumentException>(() => rank.Group.CreateHandle(memory, EpGroup.HandleAlignment / 2));
        Assert.Equal("byteOffset", e.ParamName);
        Assert.Contains($"multiple of {EpGroup.HandleAlignment}", e.Message, StringComparison.Ordinal);
        AssertPattern(memory);
    }

    [Fact]
    public void A_negative_offset_a_null_buffer_and_a_disposed_buffer_are_refused()
    {
        using var rank = new SingleRank();
        using EpBuffer memory = Patterned(rank.Group, rank.Group.HandleBytes);
        Assert.Equal("byteOffset", Assert.Throws<ArgumentOutOfRangeException>(() => rank.Group.CreateHandle(memory, -EpGroup.HandleAlignment)).ParamName);
        Assert.Equal("memory", Assert.Throws<ArgumentNullException>(() => rank.Group.CreateHandle(null!)).ParamName);
        EpBuffer gone = rank.Group.AllocateBuffer(rank.Group.HandleBytes);
        gone.Dispose();
        Assert.Throws<ObjectDisposedException>(() => rank.Group.CreateHandle(gone));
        AssertPattern(memory);
    }

    [Fact]
    public void Raw_memory_that_is_null_too_short_or_misaligned_is_refused_naming_its_argument()
    {
        using var rank = new SingleRank();
        long bytes = rank.Group.HandleBytes;
        using EpBuffer memory = Patterned(rank.Group, bytes + EpGroup.HandleAlignment);
        Assert.Equal("memory", Assert.Throws<ArgumentException>(() => rank.Group.CreateHandle(0, bytes)).ParamName);
        ArgumentOutOfRangeException small = Assert.Throws<ArgumentOutOfRangeException>(() => rank.Group.CreateHandle(memory.Pointer, bytes - 1));
        Assert.Equal("bytes", small.ParamName);
        Assert.Contains($"{bytes} bytes", small.Message, StringComparison.Ordinal);
        ArgumentException misaligned = Assert.Throws<ArgumentException>(() => rank.Group.CreateHandle(memory.Pointer + 16, bytes));
        Assert.Equal("memory", misaligned.ParamName);
        Assert.Contains($"multiple of {EpGroup.HandleAlignment}", misaligned.Message, StringComparison.Ordinal);
        AssertPattern(memory);

        using EpHandle handle = rank.Group.CreateHandle(memory.Pointer + EpGroup.HandleAlignment, bytes);
        Assert.Equal(memory.Pointer + EpGroup.HandleAlignment, handle.MemoryPointer);
    }

    [Fact]
    public void Disposing_a_handle_in_caller_memory_leaves_the_buffer_alive_and_its_bytes_as_the_handle_left_them()
    {
        using var rank = new SingleRank();
        long bytes = rank.Group.HandleBytes;
        using EpBuffer memory = Patterned(rank.Group, bytes);
        EpHandle handle = rank.Group.CreateHandle(memory);
        handle.Update(rank.IdsT(), rank.WeightsT());
        rank.Group.Dispatch(handle, rank.XT(), rank.ReceivedT);
        var before = new byte[bytes];
        memory.Download<byte>(before);
        Assert.NotEqual(-1, before.AsSpan().IndexOfAnyExcept((byte)0));  // the handle wrote its routing here

        handle.Dispose();
        Assert.True(handle.IsDisposed);
        Assert.False(memory.IsDisposed);
        var after = new byte[bytes];
        memory.Download<byte>(after);
        Assert.Equal(before, after);
        using EpHandle again = rank.Group.CreateHandle(memory);  // the memory can hold a new handle
        again.Update(rank.IdsT(), rank.WeightsT());
    }

    [Fact]
    public void A_call_on_a_handle_whose_caller_buffer_was_disposed_first_is_refused_and_says_the_memory_must_outlive_it()
    {
        using var rank = new SingleRank();
        EpBuffer memory = rank.Group.AllocateBuffer(rank.Group.HandleBytes);
        using EpHandle handle = rank.Group.CreateHandle(memory);
        handle.Update(rank.IdsT(), rank.WeightsT());
        memory.Dispose();
        ObjectDisposedException e = Assert.Throws<ObjectDisposedException>(() => handle.Update(rank.IdsT(), rank.WeightsT()));
        Assert.Contains("outlive", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Creating_a_handle_in_caller_memory_inside_a_captured_step_is_refused_and_names_the_call()
    {
        using var rank = new SingleRank();
        using EpBuffer memory = rank.Group.AllocateBuffer(rank.Group.HandleBytes);
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() =>
            EpGraph.Capture(rank.Group, default, context => context.Group.CreateHandle(memory)).Dispose());
        Assert.Contains("CreateHandle", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() =>
            EpGraph.Capture(rank.Group, default, context => context.Group.CreateHandle(memory.Pointer, memory.Bytes)).Dispose());
    }

    private static EpBuffer Patterned(EpGroup group, long bytes)
    {
        EpBuffer buffer = group.AllocateBuffer(bytes);
        buffer.Fill(Pattern);
        return buffer;
    }

    private static void AssertPattern(EpBuffer buffer)
    {
        var bytes = new byte[buffer.Bytes];
        buffer.Download<byte>(bytes);
        int written = bytes.AsSpan().IndexOfAnyExcept(Pattern);
        Assert.True(written < 0, $"byte {written} of the caller's memory was written by a refused call");
    }
}
