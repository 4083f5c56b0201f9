using Xunit;

namespace NcclEp.Tests.Infrastructure;

/// <summary>
/// Tests that measure time or allocations run alone, after the parallel ones, so the other classes' rank
/// threads do not compete with them for the (2) cores.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial (timing and allocation)";
}
