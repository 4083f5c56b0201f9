using System;
using System.Collections.Generic;
using System.Threading;

namespace NcclEp.Bench;

/// <summary>
/// Long-lived threads, one per rank (ranks wait on each other inside every call, so each needs its own
/// thread). <see cref="Run"/> runs one action on all of them at once and waits; the action gets a
/// <see cref="RankBarrier"/> so ranks can start each iteration together. If a rank fails, the barrier is
/// cancelled so the others stop instead of waiting for it, and the first failure is rethrown.
/// </summary>
internal sealed class RankThreads : IDisposable
{
    private static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(30);
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

    /// <summary>Runs <paramref name="work"/>(rank, barrier) on every rank thread; rethrows the first failure.</summary>
    public void Run(Action<int, RankBarrier> work)
    {
        using var barrier = new RankBarrier(Ranks);
        _barrier = barrier;
        _work = work;
        _done.Reset(Ranks);
        Array.Clear(_errors);
        foreach (SemaphoreSlim s in _start) s.Release();
        if (!_done.Wait(RunLimit))
            throw new TimeoutException($"A rank thread did not finish within {RunLimit.TotalMinutes} minutes: the ranks deadlocked.");
        _work = null;
        _barrier = null;

        var failures = new List<Exception>();
        foreach (Exception? e in _errors)
        {
            if (e is not null && e is not OperationCanceledException) failures.Add(e);
        }
        if (failures.Count == 0 && Array.Exists(_errors, e => e is not null))
            failures.Add(Array.Find(_errors, e => e is not null)!);
        if (failures.Count > 0) throw new RankFailedException(failures[0], failures.Count);
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
            try
            {
                if (startError is not null) throw new InvalidOperationException($"Rank {rank}'s thread failed to start.", startError);
                _work!(rank, _barrier!);
            }
            catch (Exception e)
            {
                _errors[rank] = e;
                _barrier!.Cancel();
            }
            _done.Signal();
        }
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (SemaphoreSlim s in _start) s.Release();
        foreach (Thread t in _threads) t.Join(TimeSpan.FromSeconds(5));
        foreach (SemaphoreSlim s in _start) s.Dispose();
        _done.Dispose();
    }
}

/// <summary>A barrier of all rank threads that a failing rank can cancel.</summary>
internal sealed class RankBarrier : IDisposable
{
    private readonly Barrier _barrier;
    private readonly CancellationTokenSource _cancel = new();

    public RankBarrier(int ranks) => _barrier = new Barrier(ranks);

    /// <summary>Waits until every rank arrives; throws <see cref="OperationCanceledException"/> if one failed.</summary>
    public void Wait() => _barrier.SignalAndWait(_cancel.Token);

    public void Cancel() => _cancel.Cancel();

    public void Dispose()
    {
        _barrier.Dispose();
        _cancel.Dispose();
    }
}

/// <summary>A rank thread failed; the inner exception is the first failure.</summary>
internal sealed class RankFailedException : Exception
{
    public RankFailedException(Exception first, int failures)
        : base(failures == 1 ? first.Message : $"{first.Message} (and {failures - 1} more rank failures)", first)
    {
    }
}
