using System;
using System.Collections.Generic;
using System.Globalization;

namespace NcclEp.Bench;

/// <summary>
/// <c>--sms-sweep</c>: the numSms values (EpConfig.NumSms) to run one after another, as a comma list such as
/// <c>8,16,32,64</c> or <c>default</c>. Every value must be a whole number from 1 to 1024 (EpConfig's range without
/// 0, "the backend chooses", which would name no point of the sweep), each given once.
/// </summary>
internal static class SmsSweepList
{
    public const string OptionName = "--sms-sweep";
    public const int Max = 1024;

    /// <summary>What <c>--sms-sweep default</c> runs: from a few SMs to all 132 of an H100/H200.</summary>
    public static readonly int[] Default = [8, 16, 24, 32, 48, 64, 96, 132];

    /// <summary>The values of <paramref name="text"/>, or false and a message that names the option and the bad entry.</summary>
    public static bool TryParse(string? text, out int[] values, out string error)
    {
        values = [];
        error = string.Empty;
        string list = text?.Trim() ?? string.Empty;
        if (list.Length == 0) return Fail("needs a comma list of numSms values such as 8,16,32,64, or 'default'", out error);
        if (list == "default")
        {
            values = (int[])Default.Clone();
            return true;
        }

        var parsed = new List<int>();
        foreach (string part in list.Split(','))
        {
            string entry = part.Trim();
            if (entry.Length == 0) return Fail($"'{list}' has an empty entry; give a comma list such as 8,16,32,64, or 'default'", out error);
            if (!int.TryParse(entry, NumberStyles.None, CultureInfo.InvariantCulture, out int value))
                return Fail($"'{entry}' is not a whole number from 1 to {Max}; give a comma list such as 8,16,32,64, or 'default'", out error);
            if (value < 1 || value > Max) return Fail($"{value} is out of range: each numSms must be 1 to {Max}", out error);
            if (parsed.Contains(value)) return Fail($"{value} is given twice", out error);
            parsed.Add(value);
        }
        values = parsed.ToArray();
        return true;
    }

    /// <summary>The list as the command line spells it.</summary>
    public static string Format(int[] values) => string.Join(',', Array.ConvertAll(values, v => v.ToString(CultureInfo.InvariantCulture)));

    private static bool Fail(string why, out string error)
    {
        error = $"{OptionName}: {why}.";
        return false;
    }
}
