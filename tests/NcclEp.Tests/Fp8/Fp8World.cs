using System;
using System.Threading;

namespace NcclEp.Tests.Fp8;

/// <summary>Host-backend groups of one configuration, each rank's work on its own thread (ranks wait on each other).</summary>
internal static class Fp8World
{
    /// <summary>Creates the ranks, runs <paramref name="work"/> on each, disposes them; rethrows the first rank's failure.</summary>
    public static T[] Run<T>(EpConfig config, int world, Func<EpGroup, T> work)
    {
        EpGroup[] groups = EpGroup.CreateHost(config, world, new EpGroupOptions { PeerTimeout = TimeSpan.FromSeconds(20) });
        var results = new T[world];
        var failures = new Exception?[world];
        var threads = new Thread[world];
        try
        {
            for (int r = 0; r < world; r++)
            {
                int rank = r;
                threads[r] = new Thread(() =>
                {
                    try { results[rank] = work(groups[rank]); }
                    catch (Exception e) { failures[rank] = e; }
                }) { IsBackground = true, Name = $"fp8 rank {rank}" };
                threads[r].Start();
            }
            foreach (Thread t in threads)
            {
                if (!t.Join(TimeSpan.FromMinutes(3))) throw new TimeoutException("A rank did not finish in 3 minutes.");
            }
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
        foreach (Exception? failure in failures)
        {
            if (failure is not null) throw new AggregateException(failure);
        }
        return results;
    }
}
