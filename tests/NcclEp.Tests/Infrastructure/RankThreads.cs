using System;
using System.Collections.Generic;
using System.Threading;

namespace NcclEp.Tests.Infrastructure;

/// <summary>
/// Long-lived threads, one per rank, that run an action on every rank at once and wait for all of them:
/// the Host backend's ranks must run concurrently because they wait on each other.
/// </summary>
public sealed class RankThreads : IDisposable
{
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim[] _start;
    private readonly CountdownEvent[] _done;
    private readonly Exception?[] _errors;
    private Action<int>? _work;
    private volatile bool _stopping;

    public RankThreads(int ranks)
    {
        Ranks = ranks;
        _threads = new Thread[ranks];
        _start = new SemaphoreSlim[ranks];
        _errors = new Exception?[ranks];
        _done = new[] { new CountdownEvent(ranks) };
        for (int r = 0; r < ranks; r++)
        {
            int rank = r;
            _start[r] = new SemaphoreSlim(0);
            _threads[r] = new Thread(() => Loop(rank)) { IsBackground = true, Name = $"rank {rank}" };
            _threads[r].Start();
        }
    }

    public int Ranks { get; }

    /// <summary>Runs <paramref name="work"/>(rank) on every rank thread; rethrows the first failure.</summary>
    public void Run(Action<int> work, TimeSpan? timeout = null)
    {
        _work = work;
        _done[0].Reset(Ranks);
        Array.Clear(_errors);
        foreach (SemaphoreSlim s in _start) s.Release();
        if (!_done[0].Wait(timeout ?? TimeSpan.FromMinutes(2)))
            throw new TimeoutException("A rank thread did not finish: the ranks deadlocked.");
        var failures = new List<Exception>();
        foreach (Exception? e in _errors) if (e is not null) failures.Add(e);
        if (failures.Count == 1) throw new AggregateException(failures[0]).InnerExceptions[0];
        if (failures.Count > 1) throw new AggregateException(failures);
    }

    /// <summary>Runs and returns the failure of each rank (null where it succeeded).</summary>
    public Exception?[] RunCollect(Action<int> work, TimeSpan? timeout = null)
    {
        _work = work;
        _done[0].Reset(Ranks);
        Array.Clear(_errors);
        foreach (SemaphoreSlim s in _start) s.Release();
        if (!_done[0].Wait(timeout ?? TimeSpan.FromMinutes(2)))
            throw new TimeoutException("A rank thread did not finish: the ranks deadlocked.");
        return (Exception?[])_errors.Clone();
    }

    private void Loop(int rank)
    {
        while (true)
        {
            _start[rank].Wait();
            if (_stopping) return;
            try { _work!(rank); }
            catch (Exception e) { _errors[rank] = e; }
            _done[0].Signal();
        }
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (SemaphoreSlim s in _start) s.Release();
        foreach (Thread t in _threads) t.Join();
        foreach (SemaphoreSlim s in _start) s.Dispose();
        _done[0].Dispose();
    }
}
