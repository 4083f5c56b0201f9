using System;
using NcclEp;
using NcclEp.Testing;

namespace NcclEp.Bench;

/// <summary>The Host backend: ranks are threads of this process, device memory is native memory.</summary>
internal sealed unsafe class HostBenchBackend : IBenchBackend
{
    private readonly string _why;

    /// <param name="why">Why the Host backend runs, e.g. "requested by --backend host".</param>
    public HostBenchBackend(string why) => _why = why;

    public string Name => "host";

    public string Describe() => $"host ({_why})";

    public void BindRankThread(int rank)
    {
    }

    public EpGroup[] CreateGroups(in EpConfig config, int ranks, EpGroupOptions options, RankThreads threads) =>
        EpGroup.CreateHost(config, ranks, options);

    public EpStream Stream(int rank) => EpStream.Default;

    public EpBuffer AllocateBuffer(EpGroup group, long bytes) => group.AllocateBuffer(bytes);

    public void Synchronize(EpGroup group, EpStream stream) => group.Synchronize(stream);

    public IPhaseTimer CreateTimer(EpGroup group, EpStream stream) => new HostPhaseTimer();

    public void CopyToHost(EpGroup group, nint source, Span<byte> destination) =>
        new ReadOnlySpan<byte>((void*)source, destination.Length).CopyTo(destination);

    public void CopyDevice(EpGroup group, EpStream stream, nint source, nint destination, long bytes) =>
        Buffer.MemoryCopy((void*)source, (void*)destination, bytes, bytes);

    public void Dispose()
    {
    }
}
