using System;
using System.Threading;
using NcclEp.Host;

namespace NcclEp.Tests.Protocol;

/// <summary>
/// Seeded random delays that put Host ranks out of step: between calls, and inside a call at every
/// <see cref="HostPhase"/> through the fabric's test hook. One rank can be made slow (longer pauses before it waits
/// and reduces), so that its peers run ahead as far as the protocol lets them. Each rank draws from its own generator,
/// on its own thread.
/// </summary>
internal sealed class RankDelays
{
    private readonly Random[] _rngs;
    private readonly int _slowRank;
    private readonly int[] _phasesSeen = new int[Enum.GetValues<HostPhase>().Length];

    public RankDelays(int world, int seed, int slowRank = -1)
    {
        _rngs = new Random[world];
        for (int r = 0; r < world; r++) _rngs[r] = new Random(seed * 7919 + r);
        _slowRank = slowRank;
    }

    /// <summary>Makes every rank of <paramref name="groups"/> (one Host fabric) pause at each phase of its calls.</summary>
    public void Install(EpGroup[] groups) => ((HostRankBackend)groups[0].RankBackend).Fabric.PhaseHook = OnPhase;

    /// <summary>How many times the hook ran at <paramref name="phase"/>, over every rank (a test proves the delays ran).</summary>
    public int Seen(HostPhase phase) => Volatile.Read(ref _phasesSeen[(int)phase]);

    /// <summary>A pause between two calls of <paramref name="rank"/>.</summary>
    public void Between(int rank)
    {
        Pause(_rngs[rank]);
        if (rank == _slowRank) Thread.Sleep(_rngs[rank].Next(3));
    }

    private void OnPhase(int rank, HostPhase phase)
    {
        Interlocked.Increment(ref _phasesSeen[(int)phase]);
        Random rng = _rngs[rank];
        if (rank == _slowRank && phase is HostPhase.ReduceStart or HostPhase.ReceiveStart)
        {
            Thread.Sleep(2 + rng.Next(4));
            return;
        }
        Pause(rng);
    }

    private static void Pause(Random rng)
    {
        switch (rng.Next(16))
        {
            case < 8:
                break;
            case < 12:
                Thread.Yield();
                break;
            case < 15:
                Thread.SpinWait(rng.Next(1, 40_000));
                break;
            default:
                Thread.Sleep(1);
                break;
        }
    }
}
