using System;
using System.Collections.Generic;
using System.Globalization;

namespace NcclEp.Bench;

/// <summary>
/// <c>--tokens-per-rank</c>: each rank's own token count, as a comma list such as <c>128,0</c> (an uneven decode
/// batch; a rank may have none). Every entry must be a whole number from 0 to <see cref="EpConfig.MaxTokens"/>; that
/// there is one per rank, that none exceeds <c>--tokens</c> and that some rank has a token is checked with the other
/// options (<see cref="BenchOptions.Check"/>).
/// </summary>
internal static class TokensPerRankList
{
    public const string OptionName = "--tokens-per-rank";

    /// <summary>The counts of <paramref name="text"/>, or false and a message that names the option and the bad entry.</summary>
    public static bool TryParse(string? text, out int[] values, out string error)
    {
        values = [];
        error = string.Empty;
        string list = text?.Trim() ?? string.Empty;
        if (list.Length == 0) return Fail("needs a comma list of token counts, one per rank, such as 128,0", out error);
        var parsed = new List<int>();
        foreach (string part in list.Split(','))
        {
            string entry = part.Trim();
            if (entry.Length == 0) return Fail($"'{list}' has an empty entry; give one token count per rank, such as 128,0", out error);
            if (entry.StartsWith('-')) return Fail($"'{entry}' is negative; a rank has 0 or more tokens", out error);
            if (!int.TryParse(entry, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value > EpConfig.MaxTokens)
                return Fail($"'{entry}' is not a whole number from 0 to {EpConfig.MaxTokens}", out error);
            parsed.Add(value);
        }
        values = parsed.ToArray();
        return true;
    }

    /// <summary>The list as the command line spells it.</summary>
    public static string Format(IReadOnlyList<int> values)
    {
        var text = new string[values.Count];
        for (int i = 0; i < text.Length; i++) text[i] = values[i].ToString(CultureInfo.InvariantCulture);
        return string.Join(',', text);
    }

    /// <summary>The largest count, or 0 for an empty list.</summary>
    public static int Max(IReadOnlyList<int> values)
    {
        int max = 0;
        foreach (int v in values) max = Math.Max(max, v);
        return max;
    }

    private static bool Fail(string why, out string error)
    {
        error = $"{OptionName}: {why}.";
        return false;
    }
}
