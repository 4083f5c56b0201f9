using System;
using System.Globalization;

namespace NcclEp.Bench;

/// <summary>Number formats of the output (decimal units: 1 MB = 10^6 B, 1 GB/s = 10^9 B/s).</summary>
internal static class Units
{
    public static string Megabytes(long bytes) => (bytes / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " MB";

    /// <summary>Bytes moved in <paramref name="microseconds"/>, in GB/s (0 if the time is 0).</summary>
    public static double GigabytesPerSecond(long bytes, double microseconds) =>
        microseconds > 0 ? bytes / (microseconds * 1e3) : 0;

    public static string Micros(double us) => us.ToString(us < 100 ? "0.0" : "0", CultureInfo.InvariantCulture);

    public static string Rate(double gbps) => gbps.ToString(gbps < 10 ? "0.00" : "0.0", CultureInfo.InvariantCulture);

    /// <summary>A percentage such as "61.2%", or "-" when there is none (NaN).</summary>
    public static string Percent(double percent) =>
        double.IsFinite(percent) ? percent.ToString("0.0", CultureInfo.InvariantCulture) + "%" : "-";

    /// <summary><see cref="Micros"/>, or "-" when there is no figure (NaN).</summary>
    public static string MicrosOrDash(double us) => double.IsFinite(us) ? Micros(us) : "-";

    /// <summary><see cref="Micros"/>, or "n/a" where the figure cannot be had (NaN: e.g. no link measured on the Host backend).</summary>
    public static string MicrosOrNa(double us) => double.IsFinite(us) ? Micros(us) : "n/a";

    /// <summary><see cref="Rate"/>, or "n/a" where the figure cannot be had (NaN).</summary>
    public static string RateOrNa(double gbps) => double.IsFinite(gbps) ? Rate(gbps) : "n/a";

    /// <summary><see cref="Percent"/>, or "n/a" where the figure cannot be had (NaN).</summary>
    public static string PercentOrNa(double percent) => double.IsFinite(percent) ? Percent(percent) : "n/a";

    /// <summary><see cref="Rate"/>, or "-" when there is no figure (NaN).</summary>
    public static string RateOrDash(double gbps) => double.IsFinite(gbps) ? Rate(gbps) : "-";
}
