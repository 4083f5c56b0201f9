using NcclEp.Backend;
using NcclEp.InternodeModel;
using Xunit;

namespace NcclEp.Tests.Internode;

/// <summary>The model's network slices are built from the same messages and rows as the library's window.</summary>
public class StagingLayoutTests
{
    public static TheoryData<EpMode, EpLayout, int, int, int, int, int> Configs => new()
    {
        // mode, layout, experts, hidden, topK, maxTokens, world
        { EpMode.LowLatency, EpLayout.ExpertMajor, 256, 7168, 8, 128, 16 },
        { EpMode.LowLatency, EpLayout.RankMajor, 256, 7168, 8, 128, 64 },
        { EpMode.HighThroughput, EpLayout.Flat, 256, 7168, 8, 4096, 32 },
        { EpMode.HighThroughput, EpLayout.ExpertMajor, 64, 512, 3, 17, 4 },
        { EpMode.LowLatency, EpLayout.ExpertMajor, 32, 1024, 32, 5, 2 },
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void Slices_hold_the_windows_messages_and_rows(EpMode mode, EpLayout layout, int experts, int hidden, int topK, int maxTokens, int world)
    {
        var config = new EpConfig(mode, experts, hidden, topK, maxTokens, layout);
        config.Validate(world);
        var window = new WindowLayout(config, world);
        var workload = new Workload(maxTokens, hidden, topK, experts);
        CombineRows rows = layout == EpLayout.ExpertMajor ? CombineRows.PerSlot : CombineRows.PerRank;
        // Every peer forced onto the network: R = W − 1 slices, L = E / W counts per dispatch header.
        StagingLayout s = Traffic.Staging(new Cluster(1, world) { LsaSize = 1 }, workload, rows);
        Assert.Equal(world - 1, s.Slices);

        Assert.Equal(config.RowBytes, workload.RowBytes);
        Assert.Equal(window.RowBytes, s.RowBytes);
        Assert.Equal(window.HeaderBytes, s.MessageHeaderBytes);
        Assert.Equal(window.MessageBytes, s.MessageBytes);
        Assert.True(MessageHeader.SlotPositions(topK) + (4 * topK) <= s.MessageHeaderBytes);

        // A dispatch slice carries what one source's message block of the window carries, after its header.
        Assert.Equal(window.Message(0, 1, 0) - window.Message(0, 0, 0), s.DispatchSliceBytes - s.DispatchHeaderBytes);
        Assert.Equal(window.LocalExperts, s.CountedExperts);
        Assert.Equal(StagingLayout.RoundUp(8 + (4L * window.LocalExperts), 128), s.DispatchHeaderBytes);
        Assert.Equal(0, s.DispatchHeaderBytes % 128);

        // A combine slice holds M tokens × S rows of the window's row size; S = K fits the window's slots per token.
        int slots = rows == CombineRows.PerSlot ? topK : 1;
        Assert.Equal(slots, s.RowsPerToken);
        Assert.True(s.RowsPerToken <= window.CombineSlots);
        Assert.Equal(window.CombineRow(0, 0, 1) - window.CombineRow(0, 0, 0), s.RowBytes);
        Assert.Equal((long)maxTokens * slots * window.RowBytes, s.CombineSliceBytes - StagingLayout.CombineHeaderBytes);
    }

    [Fact]
    public void Worked_LL_numbers_match_the_formulas()
    {
        StagingLayout s = Traffic.Staging(new Cluster(2, 8), Workload.LowLatency, CombineRows.PerSlot);
        Assert.Equal(8, s.Slices);                                 // R = 16 − 8
        Assert.Equal(128, s.MessageHeaderBytes);                   // roundUp(16 + 12·8, 128)
        Assert.Equal(14_464, s.MessageBytes);                      // 128 + 7168·2
        Assert.Equal(128, s.DispatchHeaderBytes);                  // roundUp(8 + 4·16, 128)
        Assert.Equal(128 + (128L * 14_464), s.DispatchSliceBytes);
        Assert.Equal(128 + (128L * 8 * 14_336), s.CombineSliceBytes);
        Assert.Equal(2L * 8 * (s.DispatchSliceBytes + s.CombineSliceBytes), s.TotalBytes);
    }

    [Theory]
    [InlineData(16, 0, 8)]
    [InlineData(16, 8, 8)]
    [InlineData(32, 16, 8)]
    [InlineData(8, 3, 1)]
    [InlineData(12, 4, 4)]
    public void Slice_index_counts_the_network_peers_of_lower_rank(int world, int lsaFirst, int lsaSize)
    {
        int expected = 0;
        for (int peer = 0; peer < world; peer++)
        {
            if (peer >= lsaFirst && peer < lsaFirst + lsaSize) continue;
            Assert.Equal(expected, StagingLayout.SliceIndex(peer, lsaFirst, lsaSize));
            expected++;
        }
        Assert.Equal(world - lsaSize, expected);
        Assert.Throws<System.ArgumentOutOfRangeException>(() => StagingLayout.SliceIndex(lsaFirst, lsaFirst, lsaSize));
    }

    [Fact]
    public void Slices_tile_each_half_without_gap_or_overlap()
    {
        StagingLayout s = Traffic.Staging(new Cluster(4, 8), Workload.HighThroughput, CombineRows.PerRank);
        int r = s.Slices;
        for (int i = 1; i < r; i++)
        {
            Assert.Equal(s.DispatchSlice(i - 1) + s.DispatchSliceBytes, s.DispatchSlice(i));
            Assert.Equal(s.CombineSlice(i - 1) + s.CombineSliceBytes, s.CombineSlice(i));
        }
        Assert.Equal(s.DispatchSlice(r - 1) + s.DispatchSliceBytes, s.CombineSlice(0));
        Assert.Equal(s.CombineSlice(r - 1) + s.CombineSliceBytes, s.HalfBytes);
    }
}
