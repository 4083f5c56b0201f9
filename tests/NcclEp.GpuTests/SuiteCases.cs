using System;
using System.Diagnostics;

namespace NcclEp.GpuTests;

/// <summary>Runs a suite's named cases (null = pass, else the failure), prints PASS/FAIL lines and the closing "N passed, N failed, N skipped".</summary>
internal static class SuiteCases
{
    /// <returns>The exit code: 0 when nothing failed (or everything was skipped for <paramref name="skipReason"/>).</returns>
    public static int Run((string Name, Func<string?> Body)[] cases, string? skipReason) =>
        Run(Array.ConvertAll(cases, c => (c.Name, true, c.Body)), skipReason);

    /// <summary>As above; a case that is not <c>Wanted</c> (its options turned it off) is reported skipped.</summary>
    public static int Run((string Name, bool Wanted, Func<string?> Body)[] cases, string? skipReason)
    {
        if (skipReason is not null)
        {
            Console.WriteLine($"skipped: {skipReason}");
            Console.WriteLine($"0 passed, 0 failed, {cases.Length} skipped");
            return 0;
        }

        int passed = 0, failed = 0, skipped = 0;
        foreach ((string name, bool wanted, Func<string?> body) in cases)
        {
            if (!wanted)
            {
                skipped++;
                Console.WriteLine($"SKIP {name}");
                continue;
            }
            long start = Stopwatch.GetTimestamp();
            string? failure;
            try
            {
                failure = body();
            }
            catch (Exception e)
            {
                failure = FaultSuite.Describe(e);
            }
            double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            if (failure is null)
            {
                passed++;
                Console.WriteLine($"PASS {name} ({ms:0} ms)");
            }
            else
            {
                failed++;
                Console.WriteLine($"FAIL {name}: {failure}");
            }
        }
        Console.WriteLine($"{passed} passed, {failed} failed, {skipped} skipped");
        return failed == 0 ? 0 : 1;
    }
}
