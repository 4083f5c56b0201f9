using System;
using System.Globalization;
using NcclEp.Distributed;

#pragma warning disable CA1050 // the runtime looks for a type named StartupHook in the global namespace

/// <summary>
/// Runs in a child process that <c>ChildProcessTests</c> starts as <c>dotnet exec NcclEp.Tests.dll</c> with
/// <c>DOTNET_STARTUP_HOOKS</c> naming this assembly and <c>NCCLEP_TEST_CHILD</c> set: the child is one rank that
/// meets its peers through <see cref="EpRendezvous.FromEnvironment(EpRendezvousOptions?, TimeSpan?)"/>, prints what it received, and exits.
/// Without <c>NCCLEP_TEST_CHILD</c> it does nothing (the test host never sets the hook).
/// </summary>
internal static class StartupHook
{
    public const string ChildVariable = "NCCLEP_TEST_CHILD";

    public static void Initialize()
    {
        string? payloadHex = Environment.GetEnvironmentVariable(ChildVariable);
        if (payloadHex is null) return;
        int code;
        try
        {
            using EpRendezvous rdv = EpRendezvous.FromEnvironment();
            byte[] got = rdv.Share(() => Convert.FromHexString(payloadHex));
            rdv.Barrier();
            byte[] second = rdv.Share(() => [(byte)rdv.WorldSize]);
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rank {rdv.Rank} of {rdv.WorldSize} local {rdv.LocalRank} got {Convert.ToHexString(got)} then {second[0]}"));
            Console.Out.Flush();
            code = 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"child failed: {e}");
            code = 3;
        }
        Environment.Exit(code);
    }
}
