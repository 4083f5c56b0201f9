using System;
using System.Globalization;

namespace NcclEp.Bench;

/// <summary>One configuration of a run: tokens per rank and the numSms asked for (a point of <c>--sweep</c> or <c>--sms-sweep</c>).</summary>
internal readonly record struct RunPoint(int Tokens, int NumSms)
{
    /// <summary>For progress lines: "4096 tokens/rank, numSms 32" ("4096 tokens/rank" when the backend chooses).</summary>
    public override string ToString() => NumSms == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{Tokens} tokens/rank")
        : string.Create(CultureInfo.InvariantCulture, $"{Tokens} tokens/rank, numSms {NumSms}");
}
