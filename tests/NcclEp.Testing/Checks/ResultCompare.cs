using System;
using System.Collections.Generic;

namespace NcclEp.Testing;

/// <summary>Bit-exact comparison of two runs' results; describes the first difference (null: none).</summary>
public static class ResultCompare
{
    /// <param name="expected">The reference run's results, per rank.</param>
    /// <param name="actual">The results compared with them, per rank.</param>
    /// <param name="expectedName">What the reference run is called in messages (e.g. "Host").</param>
    /// <param name="actualName">What the compared run is called (e.g. "Cuda").</param>
    public static string? FirstDifference(RankResult[] expected, RankResult[] actual, string expectedName = "Host", string actualName = "Cuda")
    {
        for (int r = 0; r < expected.Length; r++)
        {
            foreach (KeyValuePair<string, byte[]> part in expected[r].Parts)
            {
                if (!actual[r].Parts.TryGetValue(part.Key, out byte[]? got))
                    return $"rank {r}: '{part.Key}' missing on {actualName} (counts differ?)";
                if (got.Length != part.Value.Length)
                    return $"rank {r}: '{part.Key}' has {got.Length} bytes on {actualName}, {part.Value.Length} on {expectedName}";
                int at = part.Value.AsSpan().CommonPrefixLength(got);
                if (at < got.Length)
                    return $"rank {r}: '{part.Key}' differs at byte {at}: {expectedName} {Hex(part.Value, at)} {actualName} {Hex(got, at)}";
            }
            foreach (string name in actual[r].Parts.Keys)
            {
                if (!expected[r].Parts.ContainsKey(name)) return $"rank {r}: '{name}' on {actualName} only (counts differ?)";
            }
        }
        return null;
    }

    private static string Hex(byte[] bytes, int at) =>
        Convert.ToHexString(bytes, at & ~3, Math.Min(16, bytes.Length - (at & ~3)));
}
