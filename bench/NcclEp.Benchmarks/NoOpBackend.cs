using System;
using NcclEp.Backend;
using NcclEp.Host;

namespace NcclEp.Benchmarks;

/// <summary>
/// A backend whose data-path calls do nothing, so a benchmark through it measures only what the library does on
/// the host before the launch: the router, the stub's checks and the packing of the arguments.
/// </summary>
internal sealed class NoOpBackend : IEpRankBackend
{
    public EpBackendKind Kind => EpBackendKind.Host;

    public EpBuffer Allocate(long bytes) => new HostBuffer(bytes);

    public void Update(EpHandle handle, ref readonly EpLaunchArgs args)
    {
    }

    public void Dispatch(EpHandle handle, ref readonly EpLaunchArgs args)
    {
    }

    public void Combine(EpHandle handle, ref readonly EpLaunchArgs args)
    {
    }

    public void CheckRouting(ref readonly EpLaunchArgs args)
    {
    }

    public void SetActiveRanks(ReadOnlySpan<bool> active)
    {
    }

    public void CheckErrors()
    {
    }

    public void Synchronize(EpStream stream)
    {
    }

    public void CopyToHost(nint source, Span<byte> destination)
    {
    }

    public void Dispose()
    {
    }

    /// <summary>A one-rank group of <paramref name="config"/> on this backend.</summary>
    public static EpGroup CreateGroup(EpConfig config)
    {
        config.Validate(1);
        return new EpGroup(config, 0, 1, new NoOpBackend(), EpGroupOptions.Default);
    }
}
