using System;
using System.Runtime.CompilerServices;

namespace NcclEp.Backend;

/// <summary>
/// How a block of messages (one source to one destination) is cut into chunks, each with its own flag: the same
/// arithmetic as chunk_count / chunk_begin / chunk_of in ep_common.cuh, so both backends release and wait for the same
/// flags (docs/kernels.md, "Protocol and memory ordering").
/// </summary>
internal readonly struct MessageChunks
{
    private readonly int _perChunk;

    /// <summary>
    /// Low-latency mode: one message per chunk (warp jobs, NCCLEP_WARP_JOBS: each message's warp releases its own flag);
    /// high-throughput mode: 16.
    /// </summary>
    public MessageChunks(EpMode mode) => _perChunk = mode == EpMode.LowLatency ? 1 : 16;

    /// <summary>How many chunks a block of <paramref name="n"/> messages has: 1..<see cref="WindowLayout.Chunks"/>, none empty when n &gt; 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Count(int n) => Math.Min(WindowLayout.Chunks, Math.Max(1, (n + _perChunk - 1) / _perChunk));

    /// <summary>First message of chunk <paramref name="c"/> (chunk c is [Begin(n, c), Begin(n, c + 1))).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Begin(int n, int c) => (int)((long)n * c / Count(n));
}
