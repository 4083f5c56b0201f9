using System;
using System.Linq;
using CommunityToolkit.HighPerformance;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using Xunit;

namespace NcclEp.Tests;

/// <summary>
/// EpGroup.DownloadToArray / Download2D / DownloadTo: any tensor of the rank, read on the host in row-major order
/// with its strides honoured, checked against the values uploaded or against an independent in-place read.
/// </summary>
public sealed class DownloadTests : IDisposable
{
    private readonly SingleRank _rank = new();

    public void Dispose() => _rank.Dispose();

    private EpGroup Group => _rank.Group;

    [Fact]
    public void A_contiguous_tensor_comes_back_row_major()
    {
        int[] values = Enumerable.Range(0, 6 * 8).Select(i => (i * 37) - 500).ToArray();
        using EpBuffer buffer = Group.AllocateBuffer(values.Length * sizeof(int));
        buffer.Upload<int>(values);
        Assert.Equal(values, Group.DownloadToArray<int>(buffer.As2D(EpDataType.Int32, 6, 8)));
    }

    [Fact]
    public void A_3D_tensor_downloads_as_rows_of_its_last_dimension()
    {
        const int D0 = 3, D1 = 4, D2 = 5;
        float[] values = Enumerable.Range(0, D0 * D1 * D2).Select(i => i * 0.5f).ToArray();
        using EpBuffer buffer = Group.AllocateBuffer(values.Length * sizeof(float));
        buffer.Upload<float>(values);

        Memory2D<float> view = Group.Download2D<float>(buffer.As3D(EpDataType.Float32, D0, D1, D2));
        Assert.Equal(D0 * D1, view.Height);
        Assert.Equal(D2, view.Width);
        ReadOnlySpan2D<float> span = view.Span;
        for (int a = 0; a < D0; a++)
            for (int b = 0; b < D1; b++)
                for (int c = 0; c < D2; c++) Assert.Equal(values[(((a * D1) + b) * D2) + c], span[(a * D1) + b, c]);
    }

    [Fact]
    public void A_strided_tensor_skips_the_padding_between_rows()
    {
        const int Rows = 4, Cols = 3, Pitch = 7;
        int[] padded = Enumerable.Range(0, Rows * Pitch).Select(i => i % Pitch < Cols ? i : -1).ToArray();
        using EpBuffer buffer = Group.AllocateBuffer(padded.Length * sizeof(int));
        buffer.Upload<int>(padded);

        Memory2D<int> view = Group.Download2D<int>(EpTensor.Create2D(buffer.Pointer, EpDataType.Int32, Rows, Cols, Pitch));
        Assert.Equal((Rows, Cols), (view.Height, view.Width));
        var source = new ReadOnlySpan2D<int>(padded, 0, Rows, Cols, Pitch - Cols);
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < Cols; c++) Assert.Equal(source[r, c], view.Span[r, c]);
        Assert.DoesNotContain(-1, Group.DownloadToArray<int>(EpTensor.Create2D(buffer.Pointer, EpDataType.Int32, Rows, Cols, Pitch)));
    }

    [Fact]
    public void A_column_view_is_read_element_by_element()
    {
        int[] values = Enumerable.Range(0, 12).ToArray();
        using EpBuffer buffer = Group.AllocateBuffer(values.Length * sizeof(int));
        buffer.Upload<int>(values);
        // Column 1 of a [4, 3] matrix: 4 rows of 1 element, each 3 apart.
        Assert.Equal(new[] { 1, 4, 7, 10 }, Group.DownloadToArray<int>(EpTensor.Create2D(buffer.Pointer + sizeof(int), EpDataType.Int32, 4, 1, 3)));
        // The same column as one row whose elements are 3 apart.
        Assert.Equal(new[] { 1, 4, 7, 10 }, Group.DownloadToArray<int>(EpTensor.Create2D(buffer.Pointer + sizeof(int), EpDataType.Int32, 1, 4, 12, 3)));
    }

    [Fact]
    public void Handle_counts_offsets_and_source_info_match_an_in_place_read_after_a_dispatch()
    {
        _rank.RouteAndDispatch();
        EpHandle h = _rank.Handle;
        Assert.Equal(HostView.Int32s(h.ReceivedExpertCounts), Group.DownloadToArray<int>(h.ReceivedExpertCounts));
        Assert.Equal(HostView.Int32s(h.ReceivedRankCounts), Group.DownloadToArray<int>(h.ReceivedRankCounts));
        Assert.Equal(HostView.Int32s(h.ReceivedExpertOffsets), Group.DownloadToArray<int>(h.ReceivedExpertOffsets));
        Assert.Equal(HostView.Int32s(h.ReceivedTotal), Group.DownloadToArray<int>(h.ReceivedTotal));
        Assert.True(Group.DownloadToArray<int>(h.ReceivedExpertCounts).Sum() > 0, "the dispatch received nothing: the check would prove little");

        int[] raw = HostView.Int32s(h.ReceivedSourceInfo);
        EpSourceInfo[] rows = Group.DownloadToArray<EpSourceInfo>(h.ReceivedSourceInfo);
        Assert.Equal(raw.Length / 3, rows.Length);
        for (int i = 0; i < rows.Length; i++) Assert.Equal(new EpSourceInfo(raw[3 * i], raw[(3 * i) + 1], raw[(3 * i) + 2]), rows[i]);
        Memory2D<EpSourceInfo> asRow = Group.Download2D<EpSourceInfo>(h.ReceivedSourceInfo);
        Assert.Equal((1, rows.Length), (asRow.Height, asRow.Width));
    }

    [Fact]
    public void Received_bf16_rows_download_as_BFloat16_and_as_ushort()
    {
        _rank.RouteAndDispatch();
        EpTensor received = _rank.ReceivedT;
        var bits = new ushort[received.ElementCount];
        _rank.Received.Download<ushort>(bits);
        Assert.Equal(bits, Group.DownloadToArray<ushort>(received));
        Assert.Equal(bits, Group.DownloadToArray<BFloat16>(received).Select(b => b.Bits).ToArray());
    }

    [Fact]
    public void DownloadTo_fills_the_front_of_a_longer_destination_and_leaves_the_rest()
    {
        int[] values = [5, 6, 7];
        using EpBuffer buffer = Group.AllocateBuffer(values.Length * sizeof(int));
        buffer.Upload<int>(values);
        int[] destination = [-1, -1, -1, -1];
        Group.DownloadTo<int>(buffer.As2D(EpDataType.Int32, 1, 3), destination);
        Assert.Equal(new[] { 5, 6, 7, -1 }, destination);
    }

    [Fact]
    public void A_type_that_does_not_match_the_element_type_is_refused_by_name()
    {
        EpTensor counts = _rank.Handle.ReceivedExpertCounts;
        ArgumentException e = Assert.Throws<ArgumentException>(() => Group.DownloadToArray<float>(counts));
        Assert.Equal("tensor", e.ParamName);
        Assert.Contains("int or uint", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Group.DownloadToArray<long>(_rank.Handle.ReceivedSourceInfo));
        Assert.Throws<ArgumentException>(() => Group.Download2D<int>(_rank.ReceivedT));
    }

    [Fact]
    public void A_destination_shorter_than_the_tensor_is_refused_by_name()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => Group.DownloadTo<int>(_rank.Handle.ReceivedExpertCounts, new int[1]));
        Assert.Equal("destination", e.ParamName);
    }

    [Fact]
    public void A_tensor_without_memory_is_refused_by_name() =>
        Assert.Equal("tensor", Assert.Throws<ArgumentNullException>(() => Group.DownloadToArray<int>(EpTensor.Create1D(0, EpDataType.Int32, 4))).ParamName);
}
