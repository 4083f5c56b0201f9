using System;
using Xunit;

namespace NcclEp.Tests;

/// <summary>A request that does not fit a buffer names what the caller passed: the shape or span, or the offset if one was given.</summary>
public sealed class BufferRangeMessageTests : IDisposable
{
    private readonly EpGroup _group = EpGroup.CreateHost(new EpConfig(EpMode.LowLatency, 4, 512, 2, 4, EpLayout.ExpertMajor), 1)[0];
    private readonly EpBuffer _buffer;

    public BufferRangeMessageTests() => _buffer = _group.AllocateBuffer(1024);

    public void Dispose()
    {
        _buffer.Dispose();
        _group.Dispose();
    }

    [Fact]
    public void An_undersized_As2D_without_an_offset_names_the_shape_not_the_offset()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => _buffer.As2D(EpDataType.Float32, 3, 512));
        Assert.Equal("rows", e.ParamName);
        Assert.DoesNotContain("byteOffset", e.Message, StringComparison.Ordinal);
        Assert.Contains("[3, 512] Float32 tensor needs 6144 bytes; the buffer holds 1024", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_undersized_As3D_without_an_offset_names_the_first_dimension()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => _buffer.As3D(EpDataType.BFloat16, 2, 2, 512));
        Assert.Equal("d0", e.ParamName);
        Assert.DoesNotContain("byteOffset", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_request_that_runs_past_the_end_from_an_offset_names_the_offset()
    {
        ArgumentOutOfRangeException e = Assert.Throws<ArgumentOutOfRangeException>(() => _buffer.As2D(EpDataType.Int32, 1, 8, byteOffset: 1000));
        Assert.Equal("byteOffset", e.ParamName);
        Assert.Contains("runs past the buffer's 1024 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_upload_or_download_too_long_for_the_buffer_names_the_span()
    {
        Assert.Equal("source", Assert.Throws<ArgumentException>(() => _buffer.Upload<byte>(new byte[1025])).ParamName);
        Assert.Equal("destination", Assert.Throws<ArgumentException>(() => _buffer.Download<byte>(new byte[1025])).ParamName);
    }

    [Fact]
    public void A_negative_offset_names_the_offset() =>
        Assert.Equal("byteOffset", Assert.Throws<ArgumentOutOfRangeException>(() => _buffer.As2D(EpDataType.Int32, 1, 1, byteOffset: -4)).ParamName);
}
