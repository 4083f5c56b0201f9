using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;

namespace NcclEp.Cuda;

/// <summary>
/// One background thread per process that looks at every registered <see cref="NetworkExchangeWatch"/> every
/// <see cref="Period"/>; it runs only while some group has network peers. Off the data path: the rank threads only
/// record events.
/// </summary>
internal static class NetworkWatchdog
{
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(10);
    private static readonly Lock s_lock = new();
    private static readonly List<NetworkExchangeWatch> s_watches = new();
    private static Thread? s_thread;

    public static void Register(NetworkExchangeWatch watch)
    {
        lock (s_lock)
        {
            s_watches.Add(watch);
            if (s_thread is not null) return;
            s_thread = new Thread(Loop) { IsBackground = true, Name = "NcclEp network watchdog" };
            s_thread.Start();
        }
    }

    /// <summary>Returns once the thread is not looking at <paramref name="watch"/> (polls run under the same lock).</summary>
    public static void Unregister(NetworkExchangeWatch watch)
    {
        lock (s_lock) s_watches.Remove(watch);
    }

    private static void Loop()
    {
        while (true)
        {
            Thread.Sleep(Period);
            lock (s_lock)
            {
                if (s_watches.Count == 0)
                {
                    s_thread = null;  // the next Register starts a new one
                    return;
                }
                long now = Stopwatch.GetTimestamp();
                foreach (NetworkExchangeWatch watch in s_watches)
                {
                    try
                    {
                        watch.Poll(now);
                    }
                    catch (EpException e)
                    {
                        // An abort that fails leaves the watch marked aborted; the rank's next call reports it.
                        Trace.WriteLine($"NcclEp network watchdog: {e.Message}");
                    }
                }
            }
        }
    }
}
