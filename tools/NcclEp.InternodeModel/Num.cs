using System.Globalization;
namespace NcclEp.InternodeModel;

/// <summary>Invariant number formats of the tables (1 MB = 10^6 B, 1 GB = 10^9 B).</summary>
public static class Num
{
    public static string F(double value, int digits) => value.ToString("N" + digits, CultureInfo.InvariantCulture);

    public static string I(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Mb(double bytes) => F(bytes / 1e6, 2);

    public static string Kb(double bytes) => F(bytes / 1e3, 1);

    public static string Us(double microseconds) => F(microseconds, 1);

    /// <summary>"—" for a missing published figure.</summary>
    public static string OrDash(double? value, int digits) => value is double v ? F(v, digits) : "—";
}
