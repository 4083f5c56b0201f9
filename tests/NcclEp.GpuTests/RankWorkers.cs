using System;
using System.Threading;

namespace NcclEp.GpuTests;

/// <summary>Runs one action per rank, each on its own thread, and waits for all (ranks wait on each other).</summary>
internal static class RankWorkers
{
    public static void Run(int ranks, Action<int> work)
    {
        var errors = new Exception?[ranks];
        var threads = new Thread[ranks];
        for (int r = 0; r < ranks; r++)
        {
            int rank = r;
            threads[r] = new Thread(() =>
            {
                try { work(rank); }
                catch (Exception e) { errors[rank] = e; }
            }) { IsBackground = true, Name = $"rank {rank}" };
            threads[r].Start();
        }
        foreach (Thread t in threads)
        {
            if (!t.Join(TimeSpan.FromMinutes(3))) throw new TimeoutException("A rank thread did not finish in 3 minutes.");
        }
        var failures = new System.Collections.Generic.List<Exception>();
        for (int r = 0; r < ranks; r++)
        {
            if (errors[r] is not null) failures.Add(new RankFailure(r, errors[r]!));
        }
        if (failures.Count > 0) throw new AggregateException(failures);
    }
}

/// <summary>Which rank a failure came from.</summary>
internal sealed class RankFailure(int rank, Exception inner) : Exception($"rank {rank}: {inner.GetType().Name}: {inner.Message}", inner);
