using System;
using NcclEp.Cuda;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>The check on the stages' bytes a module asks for (<see cref="BulkSharedMemory"/>): what the kernels can say passes, nothing else.</summary>
public sealed class BulkSharedMemoryTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(32 * 1024)]
    [InlineData(BulkSharedMemory.MaxBytes)]
    public void A_size_the_kernels_can_have_is_taken(int bytes) => Assert.Equal(bytes, BulkSharedMemory.Validate(bytes));

    [Theory]
    [InlineData(-16)]
    [InlineData(40)]
    [InlineData(BulkSharedMemory.MaxBytes + 16)]
    public void Any_other_size_is_refused_naming_the_global(int bytes)
    {
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => BulkSharedMemory.Validate(bytes));
        Assert.Contains(BulkSharedMemory.Symbol, e.Message, StringComparison.Ordinal);
        Assert.Contains(bytes.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }
}
