using System;
using System.Threading;

namespace NcclEp.Testing;

/// <summary>A barrier of all rank threads that a failing rank cancels, so the others stop instead of waiting for it.</summary>
public sealed class RankBarrier : IDisposable
{
    private readonly Barrier _barrier;
    private readonly CancellationTokenSource _cancel = new();

    public RankBarrier(int ranks) => _barrier = new Barrier(ranks);

    /// <summary>Waits until every rank arrives; throws <see cref="OperationCanceledException"/> if one failed.</summary>
    public void Wait() => _barrier.SignalAndWait(_cancel.Token);

    public void Cancel()
    {
        try { _cancel.Cancel(); }
        catch (ObjectDisposedException) { }
    }

    public void Dispose()
    {
        _barrier.Dispose();
        _cancel.Dispose();
    }
}
