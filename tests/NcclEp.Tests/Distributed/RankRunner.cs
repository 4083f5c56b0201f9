using System;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using Xunit;

namespace NcclEp.Tests.Distributed;

/// <summary>What one rank's thread ended with: a value or an exception, and when it finished.</summary>
public sealed record RankOutcome(object? Value, Exception? Error, TimeSpan Finished)
{
    public T Get<T>()
    {
        Assert.True(Error is null, $"The rank failed: {Error}");
        return (T)Value!;
    }

    public TException Failed<TException>() where TException : Exception =>
        Assert.IsType<TException>(Error ?? throw new Xunit.Sdk.XunitException($"The rank did not fail; it returned {Value}."));
}

/// <summary>Ranks as threads standing in for processes: each runs on its own (blocking) thread.</summary>
public static class RankRunner
{
    public static RankOutcome[] Run(int ranks, Func<int, object?> body, TimeSpan? limit = null)
    {
        var outcomes = new RankOutcome[ranks];
        var threads = new Thread[ranks];
        var clock = Stopwatch.StartNew();
        for (int r = 0; r < ranks; r++)
        {
            int rank = r;
            threads[r] = new Thread(() =>
            {
                try
                {
                    object? value = body(rank);
                    outcomes[rank] = new RankOutcome(value, null, clock.Elapsed);
                }
                catch (Exception e)
                {
                    outcomes[rank] = new RankOutcome(null, e, clock.Elapsed);
                }
            })
            { IsBackground = true, Name = $"test rank {rank}" };
            threads[r].Start();
        }
        TimeSpan wait = limit ?? TimeSpan.FromSeconds(20);
        foreach (Thread t in threads)
        {
            TimeSpan left = wait - clock.Elapsed;
            Assert.True(t.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero), $"A rank thread did not finish within {wait}: the rendezvous hung.");
        }
        return outcomes;
    }

    /// <summary>A loopback port nobody listens on right now (bound, read, released).</summary>
    public static int FreeLoopbackPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
