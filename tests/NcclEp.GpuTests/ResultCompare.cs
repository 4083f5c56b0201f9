using System;
using System.Collections.Generic;

namespace NcclEp.GpuTests;

/// <summary>Bit-exact comparison of two backends' results; describes the first difference.</summary>
internal static class ResultCompare
{
    public static string? FirstDifference(RankResult[] expected, RankResult[] actual)
    {
        for (int r = 0; r < expected.Length; r++)
        {
            foreach (KeyValuePair<string, byte[]> part in expected[r].Parts)
            {
                if (!actual[r].Parts.TryGetValue(part.Key, out byte[]? got))
                    return $"rank {r}: '{part.Key}' missing on Cuda (counts differ?)";
                if (got.Length != part.Value.Length)
                    return $"rank {r}: '{part.Key}' has {got.Length} bytes on Cuda, {part.Value.Length} on Host";
                int at = part.Value.AsSpan().CommonPrefixLength(got);
                if (at < got.Length)
                    return $"rank {r}: '{part.Key}' differs at byte {at}: Host {Hex(part.Value, at)} Cuda {Hex(got, at)}";
            }
            if (actual[r].Parts.Count != expected[r].Parts.Count)
                return $"rank {r}: Cuda produced {actual[r].Parts.Count} parts, Host {expected[r].Parts.Count}";
        }
        return null;
    }

    private static string Hex(byte[] bytes, int at) =>
        Convert.ToHexString(bytes, at & ~3, Math.Min(16, bytes.Length - (at & ~3)));
}
