using System.Collections.Generic;

namespace NcclEp.Testing;

/// <summary>
/// Everything one rank's round trip produced that two runs (two backends, or a replay and eager calls) must get
/// exactly right, as named byte arrays in the order they were collected (<see cref="ResultCollector"/>).
/// </summary>
public sealed class RankResult
{
    public Dictionary<string, byte[]> Parts { get; } = new();

    public void Add(string name, byte[] bytes) => Parts[name] = bytes;
}
