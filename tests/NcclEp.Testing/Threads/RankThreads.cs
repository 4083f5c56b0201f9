using System;
using System.Collections.Generic;
using System.Threading;

namespace NcclEp.Testing;

/// <summary>
/// Long-lived threads, one per rank: the ranks of a world wait on each other inside every call, so each needs its own
/// thread. <see cref="Run(Action{int}, TimeSpan?)"/> runs one action on all of them at once and waits for all; the
/// overload with a <see cref="RankBarrier"/> lets ranks start each iteration together, and a failing rank cancels that
/// barrier so the others stop instead of waiting for it. Failures are raised as one <see cref="RankFailedException"/>
/// naming the ranks. <see cref="RunOnce"/> runs on fresh threads (for callers that run two worlds at once).
/// </summary>
public sealed class RankThreads : IDisposable
{
    /// <summary>How long <see cref="Run(Action{int}, TimeSpan?)"/> waits when the caller gives no limit.</summary>
    public static readonly TimeSpan DefaultLimit = TimeSpan.FromMinutes(2);

    private readonly Thread[] _threads;
    private readonly SemaphoreSlim[] _start;
    private readonly CountdownEvent _done;
    private readonly Exception?[] _errors;
    private readonly Action<int>? _onStart;
    private Action<int, RankBarrier>? _work;
    private RankBarrier? _barrier;
    private volatile bool _stopping;

    /// <param name="ranks">Threads to start.</param>
    /// <param name="onStart">Runs once on each thread first (e.g. binding a GPU context).</param>
    public RankThreads(int ranks, Action<int>? onStart = null)
    {
        Ranks = ranks;
        _onStart = onStart;
        _threads = new Thread[ranks];
        _start = new SemaphoreSlim[ranks];
        _errors = new Exception?[ranks];
        _done = new CountdownEvent(ranks);
        for (int r = 0; r < ranks; r++)
        {
            int rank = r;
            _start[r] = new SemaphoreSlim(0);
            _threads[r] = new Thread(() => Loop(rank)) { IsBackground = true, Name = $"rank {rank}" };
            _threads[r].Start();
        }
    }

    public int Ranks { get; }

    /// <summary>How long a run may take when the caller gives no limit.</summary>
    public TimeSpan Limit { get; init; } = DefaultLimit;

    /// <summary>Runs <paramref name="work"/> on <paramref name="ranks"/> fresh threads and waits; throws as <see cref="Run(Action{int}, TimeSpan?)"/>.</summary>
    public static void RunOnce(int ranks, Action<int> work, TimeSpan? limit = null)
    {
        using var threads = new RankThreads(ranks);
        threads.Run(work, limit);
    }

    /// <summary>Runs <paramref name="work"/>(rank) on every rank thread; throws <see cref="RankFailedException"/> if any rank failed.</summary>
    public void Run(Action<int> work, TimeSpan? limit = null) => Run((rank, _) => work(rank), limit);

    /// <summary>Runs <paramref name="work"/>(rank, barrier) on every rank thread; throws <see cref="RankFailedException"/> if any rank failed.</summary>
    public void Run(Action<int, RankBarrier> work, TimeSpan? limit = null)
    {
        Exception?[] errors = RunCollect(work, limit);
        var failures = new List<(int, Exception)>();
        for (int r = 0; r < Ranks; r++)
        {
            if (errors[r] is not null and not OperationCanceledException) failures.Add((r, errors[r]!));
        }
        // Only cancellations: report them rather than nothing.
        if (failures.Count == 0)
        {
            for (int r = 0; r < Ranks; r++)
            {
                if (errors[r] is not null) failures.Add((r, errors[r]!));
            }
        }
        if (failures.Count > 0) throw new RankFailedException(failures);
    }

    /// <summary>Runs and returns the failure of each rank (null where it succeeded).</summary>
    public Exception?[] RunCollect(Action<int> work, TimeSpan? limit = null) => RunCollect((rank, _) => work(rank), limit);

    private Exception?[] RunCollect(Action<int, RankBarrier> work, TimeSpan? limit)
    {
        TimeSpan wait = limit ?? Limit;
        using var barrier = new RankBarrier(Ranks);
        _barrier = barrier;
        _work = work;
        _done.Reset(Ranks);
        Array.Clear(_errors);
        foreach (SemaphoreSlim s in _start) s.Release();
        if (!_done.Wait(wait))
        {
            barrier.Cancel();
            throw new TimeoutException($"A rank thread did not finish within {wait.TotalSeconds:0} s: the ranks deadlocked.");
        }
        _work = null;
        _barrier = null;
        return (Exception?[])_errors.Clone();
    }

    private void Loop(int rank)
    {
        Exception? startError = null;
        try
        {
            _onStart?.Invoke(rank);
        }
        catch (Exception e)
        {
            startError = e;
        }

        while (true)
        {
            _start[rank].Wait();
            if (_stopping) return;
            RankBarrier barrier = _barrier!;
            try
            {
                if (startError is not null) throw new InvalidOperationException($"Rank {rank}'s thread failed to start.", startError);
                _work!(rank, barrier);
            }
            catch (Exception e)
            {
                _errors[rank] = e;
                barrier.Cancel();
            }
            _done.Signal();
        }
    }

    /// <summary>Stops the threads (a thread still stuck in a deadlocked rank is left behind after 5 s: they are background threads).</summary>
    public void Dispose()
    {
        _stopping = true;
        foreach (SemaphoreSlim s in _start) s.Release();
        foreach (Thread t in _threads) t.Join(TimeSpan.FromSeconds(5));
        foreach (SemaphoreSlim s in _start) s.Dispose();
        _done.Dispose();
    }
}
