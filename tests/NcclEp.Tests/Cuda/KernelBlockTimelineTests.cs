using System;
using System.Text.RegularExpressions;
using NcclEp.Cuda;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// The reader of the NCCLEP_BLOCK_TIMELINE records (shared by the GPU test program and the bench's --timeline) agrees
/// with ep_common.cuh on the global's shape and decodes a record the way the kernels pack it.
/// </summary>
public sealed class KernelBlockTimelineTests
{
    [Fact]
    public void The_readers_shape_is_the_one_ep_common_declares()
    {
        string source = KernelSource.Join(null);
        Assert.Equal(KernelBlockTimeline.Ranks, Define(source, "TIMELINE_RANKS"));
        Assert.Equal(KernelBlockTimeline.Slots, Define(source, "TIMELINE_SLOTS"));
        Assert.Equal(KernelBlockTimeline.Blocks, Define(source, "TIMELINE_BLOCKS"));
        Assert.Equal(KernelBlockTimeline.Slots, KernelBlockTimeline.SlotNames.Length);
        Assert.Contains($"__device__ u64 {KernelBlockTimeline.Symbol}[TIMELINE_RANKS * TIMELINE_SLOTS * TIMELINE_BLOCKS * {KernelBlockTimeline.Words}];", source, StringComparison.Ordinal);
        Assert.Equal(0, Define(source, "SLOT_UPDATE"));
        Assert.Equal(1, Define(source, "SLOT_OFFSETS"));
    }

    [Fact]
    public void A_record_is_decoded_at_its_slot_and_block_with_its_sm_sequence_and_role()
    {
        var words = new ulong[KernelBlockTimeline.RankWords];
        // As TIMELINE_END packs it: sm << 32 | (seq & 0xFFFFFF) << 8 | role.
        static ulong Tag(ulong sm, ulong seq, ulong role) => (sm << 32) | ((seq & 0xFFFFFF) << 8) | role;
        Put(words, slot: 2, block: 7, start: 5_000, end: 9_000, Tag(131, 0x123456, 2));
        Put(words, slot: 0, block: 0, start: 1_000, end: 0, Tag(3, 0, 0));             // started, never ended
        Put(words, slot: 5, block: KernelBlockTimeline.Blocks - 1, start: 7, end: 8, Tag(0, 0xFFFFFF, 1));
        words[(((3 * KernelBlockTimeline.Blocks) + 4) * KernelBlockTimeline.Words) + 1] = 99;  // an end without a start: never started

        BlockRecord[] records = KernelBlockTimeline.Decode(words, rank: 6);

        Assert.Equal(
        [
            new BlockRecord(6, 0, 0, 1_000, 0, 3, 0, 0),
            new BlockRecord(6, 2, 7, 5_000, 9_000, 131, 0x123456, 2),
            new BlockRecord(6, 5, KernelBlockTimeline.Blocks - 1, 7, 8, 0, 0xFFFFFF, 1),
        ], records);
        Assert.False(records[0].Ended);
        Assert.True(records[1].Ended);
        Assert.Throws<ArgumentException>(() => KernelBlockTimeline.Decode(new ulong[KernelBlockTimeline.RankWords - 1], 0));
    }

    private static void Put(ulong[] words, int slot, int block, ulong start, ulong end, ulong tag)
    {
        int i = ((slot * KernelBlockTimeline.Blocks) + block) * KernelBlockTimeline.Words;
        (words[i], words[i + 1], words[i + 2]) = (start, end, tag);
    }

    private static int Define(string source, string name)
    {
        Match m = Regex.Match(source, $@"^#define {name} (\d+)\s*$", RegexOptions.Multiline);
        Assert.True(m.Success, $"ep_common.cuh defines no {name}");
        return int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
