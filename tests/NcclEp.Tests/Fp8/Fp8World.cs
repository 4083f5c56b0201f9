using System;
using NcclEp.Testing;

namespace NcclEp.Tests.Fp8;

/// <summary>Host-backend groups of one configuration, each rank's work on its own thread (ranks wait on each other).</summary>
internal static class Fp8World
{
    /// <summary>Creates the ranks, runs <paramref name="work"/> on each (RankThreads), disposes them; rethrows the ranks' failures.</summary>
    public static T[] Run<T>(EpConfig config, int world, Func<EpGroup, T> work)
    {
        EpGroup[] groups = EpGroup.CreateHost(config, world, new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(20) });
        var results = new T[world];
        try
        {
            RankThreads.RunOnce(world, rank => results[rank] = work(groups[rank]), TimeSpan.FromMinutes(3));
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
        return results;
    }
}
