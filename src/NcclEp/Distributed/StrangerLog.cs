using System.Collections.Generic;
using System.Globalization;

namespace NcclEp.Distributed;

/// <summary>
/// The connections rank 0 dropped while the ranks joined, kept for its final error message (a stranger never aborts
/// the rendezvous, but if the ranks do not meet, what was refused may say why). Bounded: the first few reasons and counts.
/// </summary>
internal sealed class StrangerLog
{
    private const int Kept = 6;
    private readonly List<string> _reasons = [];
    private int _refused;
    private int _quiet;

    /// <summary>A connection refused for a reason worth naming (a wrong world size, a duplicated rank, a bad frame).</summary>
    public void Refused(string reason)
    {
        _refused++;
        if (_reasons.Count < Kept) _reasons.Add(reason);
    }

    /// <summary>A connection that closed or fell silent before it finished joining.</summary>
    public void Quiet() => _quiet++;

    /// <summary>"; refused 2 connections: ...; dropped 3 ..." for the end of a message, or empty.</summary>
    public string Describe(string quietWhat)
    {
        string text = string.Empty;
        if (_refused > 0)
        {
            text = string.Create(CultureInfo.InvariantCulture, $"; refused {Count(_refused)}: {string.Join("; ", _reasons)}");
            if (_refused > _reasons.Count) text += string.Create(CultureInfo.InvariantCulture, $" (and {_refused - _reasons.Count} more)");
        }
        if (_quiet > 0) text += string.Create(CultureInfo.InvariantCulture, $"; dropped {Count(_quiet)} that {quietWhat}");
        return text;
    }

    private static string Count(int n) => n == 1 ? "1 connection" : string.Create(CultureInfo.InvariantCulture, $"{n} connections");
}
