using System.Collections.Generic;
using NcclEp.Generators.Models;

namespace NcclEp.Generators.Declarations;

/// <summary>Parses the dimension strings of the generator attributes.</summary>
internal static class Dimensions
{
    /// <summary>The symbols a rows dimension may use, and the <c>EpShapes</c> member each reads.</summary>
    private static readonly Dictionary<string, string> s_symbols = new()
    {
        ["worldSize"] = "WorldSize",
        ["localExperts"] = "LocalExperts",
        ["numExperts"] = "NumExperts",
        ["hidden"] = "Hidden",
        ["topK"] = "TopK",
        ["maxTokensPerRank"] = "MaxTokensPerRank",
        ["receiveRows"] = "ReceiveRows",
    };

    /// <summary>
    /// A view dimension <c>"Property:index"</c>: the length property (PascalCase) and the indexer parameter (camelCase).
    /// </summary>
    public static ViewDimension? ParseView(string? spec, out string error)
    {
        error = "";
        if (spec is null)
        {
            error = "it is null";
            return null;
        }
        int colon = spec.IndexOf(':');
        if (colon < 0)
        {
            error = "expected 'Property:index'";
            return null;
        }
        string property = spec.Substring(0, colon).Trim();
        string index = spec.Substring(colon + 1).Trim();
        if (!IsIdentifier(property) || !char.IsUpper(property[0]))
        {
            error = $"'{property}' is not a PascalCase identifier";
            return null;
        }
        if (!IsIdentifier(index) || !char.IsLower(index[0]))
        {
            error = $"'{index}' is not a camelCase identifier";
            return null;
        }
        return new ViewDimension(property, index);
    }

    /// <summary>
    /// A rows dimension <c>"[&gt;=] term[*term...] [: meaning]"</c> where a term is a group size
    /// (worldSize, localExperts, numExperts, hidden, topK, maxTokensPerRank, receiveRows) or a positive integer;
    /// <c>&gt;=</c> makes the length a lower bound.
    /// </summary>
    public static RowDimension? ParseRow(string? spec, out string error)
    {
        error = "";
        if (spec is null)
        {
            error = "it is null";
            return null;
        }
        string text = spec.Trim();
        string? meaning = null;
        int colon = text.IndexOf(':');
        if (colon >= 0)
        {
            meaning = text.Substring(colon + 1).Trim();
            text = text.Substring(0, colon).Trim();
            if (meaning.Length == 0 || meaning.IndexOf('"') >= 0 || meaning.IndexOf('\\') >= 0)
            {
                error = "the meaning after ':' must be non-empty text without quotes or backslashes";
                return null;
            }
        }
        bool atLeast = text.StartsWith(">=", System.StringComparison.Ordinal);
        if (atLeast) text = text.Substring(2).Trim();
        string[] terms = text.Split('*');
        var code = new List<string>(terms.Length);
        var names = new List<string>(terms.Length);
        foreach (string raw in terms)
        {
            string term = raw.Trim();
            if (s_symbols.TryGetValue(term, out string? member))
            {
                code.Add("s." + member);
            }
            else if (term.Length > 0 && term.Length < 10 && IsDigits(term) && term[0] != '0')
            {
                code.Add(term);
            }
            else
            {
                error = $"'{term}' is neither a group size (worldSize, localExperts, numExperts, hidden, topK, maxTokensPerRank, receiveRows) nor a positive integer";
                return null;
            }
            names.Add(term);
        }
        string expression = code.Count == 1 ? code[0] : "(long)" + string.Join(" * ", code);
        return new RowDimension(spec, expression, meaning ?? string.Join(" × ", names), atLeast);
    }

    private static bool IsIdentifier(string text)
    {
        if (text.Length == 0 || !(char.IsLetter(text[0]) || text[0] == '_')) return false;
        foreach (char c in text)
        {
            if (!(char.IsLetterOrDigit(c) || c == '_')) return false;
        }
        return true;
    }

    private static bool IsDigits(string text)
    {
        foreach (char c in text)
        {
            if (c < '0' || c > '9') return false;
        }
        return true;
    }
}
