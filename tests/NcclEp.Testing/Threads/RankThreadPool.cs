using System;
using System.Collections.Generic;

namespace NcclEp.Testing;

/// <summary>One <see cref="RankThreads"/> per world size, made on first use and reused (an xunit class fixture in the CPU tests).</summary>
public sealed class RankThreadPool : IDisposable
{
    private readonly Dictionary<int, RankThreads> _byWorld = [];

    public RankThreads For(int worldSize)
    {
        lock (_byWorld)
        {
            if (!_byWorld.TryGetValue(worldSize, out RankThreads? threads))
                _byWorld[worldSize] = threads = new RankThreads(worldSize);
            return threads;
        }
    }

    public void Dispose()
    {
        lock (_byWorld)
        {
            foreach (RankThreads threads in _byWorld.Values) threads.Dispose();
            _byWorld.Clear();
        }
    }
}
