using System.Collections.Generic;

namespace NcclEp.GpuTests;

/// <summary>Everything one rank's run produced that a backend must get exactly right, as named byte arrays.</summary>
internal sealed class RankResult
{
    public Dictionary<string, byte[]> Parts { get; } = new();

    public void Add(string name, byte[] bytes) => Parts[name] = bytes;
}
