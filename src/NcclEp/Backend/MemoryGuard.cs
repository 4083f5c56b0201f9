using System;
using System.Globalization;
using System.IO;
using System.Threading;

namespace NcclEp.Backend;

/// <summary>
/// Refuses, before anything is allocated, a configuration that the memory it would live in cannot hold: the process
/// of a Host-backend group would otherwise grow until the kernel's out-of-memory killer ends it, which from the
/// outside looks like a hang and then a crash.
/// </summary>
internal static class MemoryGuard
{
    private const string MemInfo = "/proc/meminfo";

    /// <summary>Tests: the available memory this async flow sees instead of the machine's (null: the machine's).</summary>
    internal static readonly AsyncLocal<long?> AvailableForTests = new();

    /// <summary>Throws <see cref="EpMemoryException"/> when this machine cannot hold <paramref name="estimate"/>.</summary>
    public static void ThrowIfHostCannotHold(in EpMemoryEstimate estimate)
    {
        long available = HostAvailableBytes(out string source);
        if (estimate.TotalBytes > available) throw new EpMemoryException(estimate, available, "this machine", source);
    }

    /// <summary>
    /// Physical memory this process can still get: <c>MemAvailable</c> of <c>/proc/meminfo</c> where there is one,
    /// capped by the runtime's limit (a container's memory limit, or the machine's memory where there is none).
    /// </summary>
    public static long HostAvailableBytes(out string source)
    {
        if (AvailableForTests.Value is long given)
        {
            source = "set by a test";
            return given;
        }
        long limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        long? memAvailable = ReadMemAvailable();
        if (memAvailable is long free && (limit <= 0 || free <= limit))
        {
            source = $"MemAvailable in {MemInfo}";
            return free;
        }
        source = "GC.GetGCMemoryInfo().TotalAvailableMemoryBytes";
        return limit;
    }

    /// <summary><c>MemAvailable</c> in bytes, or null where the file or the line is missing.</summary>
    internal static long? ReadMemAvailable()
    {
        try
        {
            if (!File.Exists(MemInfo)) return null;
            foreach (string line in File.ReadLines(MemInfo))
            {
                if (ParseMemAvailable(line) is long bytes) return bytes;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>Bytes of a <c>MemAvailable:   123456 kB</c> line, or null for any other line.</summary>
    internal static long? ParseMemAvailable(string line)
    {
        const string Key = "MemAvailable:";
        if (!line.StartsWith(Key, StringComparison.Ordinal)) return null;
        string[] parts = line[Key.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long value)) return null;
        return parts.Length > 1 && parts[1] == "kB" ? value * 1024 : value;
    }
}
