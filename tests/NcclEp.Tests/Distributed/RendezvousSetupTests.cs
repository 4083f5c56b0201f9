using System;
using System.Collections.Generic;
using NcclEp.Distributed;
using Xunit;

namespace NcclEp.Tests.Distributed;

/// <summary>Addresses, arguments and the launchers' environment variables (nothing connects here).</summary>
public class RendezvousSetupTests
{
    /// <summary>A file path in a folder that does not exist (nothing here writes to it).</summary>
    private static readonly string Nowhere = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ncclep-none-" + Guid.NewGuid().ToString("N"), "id");

    private static Func<string, string?> Env(params (string Name, string Value)[] variables)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string name, string value) in variables) map[name] = value;
        return name => map.TryGetValue(name, out string? v) ? v : null;
    }

    [Fact]
    public void Parse_reads_file_and_tcp_addresses()
    {
        using EpRendezvous file = EpRendezvous.Parse("file:/tmp/ncclep-job-1/id", 1, 2);
        Assert.Equal("file:/tmp/ncclep-job-1/id", file.Address);
        Assert.Equal((1, 2, -1), (file.Rank, file.WorldSize, file.LocalRank));
        Assert.Equal(EpRendezvous.DefaultTimeout, file.Timeout);

        using EpRendezvous tcp = EpRendezvous.Parse("tcp:127.0.0.1:29500", 3, 4, TimeSpan.FromSeconds(7), localRank: 3);
        Assert.Equal("tcp:127.0.0.1:29500", tcp.Address);
        Assert.Equal((3, 4, 3), (tcp.Rank, tcp.WorldSize, tcp.LocalRank));
        Assert.Equal(TimeSpan.FromSeconds(7), tcp.Timeout);
    }

    [Theory]
    [InlineData("127.0.0.1:29500")]
    [InlineData("tcp:127.0.0.1")]
    [InlineData("tcp::29500")]
    [InlineData("tcp:127.0.0.1:port")]
    [InlineData("udp:127.0.0.1:29500")]
    public void Parse_refuses_what_is_not_an_address(string address)
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => EpRendezvous.Parse(address, 1, 2));
        Assert.Equal("address", e.ParamName);
        Assert.Contains(address, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_factories_check_rank_world_port_and_time_out()
    {
        Assert.Equal("rank", Assert.Throws<ArgumentOutOfRangeException>(() => EpRendezvous.File(Nowhere, 2, 2)).ParamName);
        Assert.Equal("rank", Assert.Throws<ArgumentOutOfRangeException>(() => EpRendezvous.File(Nowhere, -1, 2)).ParamName);
        Assert.Equal("worldSize", Assert.Throws<ArgumentOutOfRangeException>(() => EpRendezvous.File(Nowhere, 0, 0)).ParamName);
        Assert.Equal("localRank", Assert.Throws<ArgumentOutOfRangeException>(() => EpRendezvous.File(Nowhere, 0, 2, localRank: -2)).ParamName);
        Assert.Equal("timeout", Assert.Throws<ArgumentException>(() => EpRendezvous.File(Nowhere, 0, 2, TimeSpan.Zero)).ParamName);
        Assert.Throws<ArgumentException>(() => EpRendezvous.File(" ", 0, 2));
        Assert.Equal("port", Assert.Throws<ArgumentOutOfRangeException>(() => EpRendezvous.Tcp("127.0.0.1", 0, 1, 2)).ParamName);
        Assert.Equal("port", Assert.Throws<ArgumentOutOfRangeException>(() => EpRendezvous.Tcp("127.0.0.1", 70000, 1, 2)).ParamName);
        Assert.Throws<ArgumentNullException>(() => EpRendezvous.File(Nowhere, 0, 1).Share(null!));
    }

    [Fact]
    public void A_world_of_one_calls_the_delegate_and_touches_no_file()
    {
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ncclep-never-" + Guid.NewGuid().ToString("N"), "id");
        using EpRendezvous alone = EpRendezvous.File(path, 0, 1, TimeSpan.FromMilliseconds(50));
        Assert.Equal([1, 2, 3], alone.Share(() => [1, 2, 3]));
        alone.Barrier();
        Assert.False(System.IO.File.Exists(path));
        Assert.Throws<InvalidOperationException>(() => alone.Share(() => null!));
    }

    [Fact]
    public void A_disposed_rendezvous_refuses_use()
    {
        EpRendezvous rdv = EpRendezvous.File(Nowhere, 0, 1);
        rdv.Dispose();
        rdv.Dispose();
        Assert.Throws<ObjectDisposedException>(() => rdv.Barrier());
    }

    [Fact]
    public void FromEnvironment_reads_what_torchrun_sets()
    {
        using EpRendezvous rdv = EpRendezvous.FromEnvironment(Env(
            ("RANK", "3"), ("WORLD_SIZE", "8"), ("LOCAL_RANK", "3"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29500")), null);
        Assert.Equal((3, 8, 3), (rdv.Rank, rdv.WorldSize, rdv.LocalRank));
        Assert.Equal("tcp:127.0.0.1:29500", rdv.Address);
        Assert.Equal(EpRendezvous.DefaultTimeout, rdv.Timeout);
    }

    [Fact]
    public void FromEnvironment_prefers_NCCLEP_RENDEZVOUS_and_reads_the_time_out()
    {
        using EpRendezvous rdv = EpRendezvous.FromEnvironment(Env(
            ("RANK", "1"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29500"),
            ("NCCLEP_RENDEZVOUS", "file:/tmp/ncclep-job/id"), ("NCCLEP_RENDEZVOUS_TIMEOUT", "2.5")), null);
        Assert.Equal("file:/tmp/ncclep-job/id", rdv.Address);
        Assert.Equal(-1, rdv.LocalRank);
        Assert.Equal(TimeSpan.FromSeconds(2.5), rdv.Timeout);

        using EpRendezvous given = EpRendezvous.FromEnvironment(Env(
            ("RANK", "1"), ("WORLD_SIZE", "2"), ("NCCLEP_RENDEZVOUS", "file:/tmp/ncclep-job/id"), ("NCCLEP_RENDEZVOUS_TIMEOUT", "2.5")), TimeSpan.FromSeconds(9));
        Assert.Equal(TimeSpan.FromSeconds(9), given.Timeout);
    }

    [Fact]
    public void FromEnvironment_falls_back_to_the_OpenMPI_and_Slurm_names()
    {
        using EpRendezvous ompi = EpRendezvous.FromEnvironment(Env(
            ("OMPI_COMM_WORLD_RANK", "1"), ("OMPI_COMM_WORLD_SIZE", "4"), ("OMPI_COMM_WORLD_LOCAL_RANK", "1"), ("NCCLEP_RENDEZVOUS", "tcp:127.0.0.1:29501")), null);
        Assert.Equal((1, 4, 1), (ompi.Rank, ompi.WorldSize, ompi.LocalRank));
        using EpRendezvous slurm = EpRendezvous.FromEnvironment(Env(
            ("SLURM_PROCID", "2"), ("SLURM_NTASKS", "4"), ("SLURM_LOCALID", "0"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29502")), null);
        Assert.Equal((2, 4, 0), (slurm.Rank, slurm.WorldSize, slurm.LocalRank));
    }

    [Fact]
    public void FromEnvironment_names_what_is_missing_or_wrong()
    {
        static string Fails(params (string, string)[] vars) =>
            Assert.Throws<InvalidOperationException>(() => EpRendezvous.FromEnvironment(Env(vars), null)).Message;

        Assert.Contains("RANK is not set", Fails(("WORLD_SIZE", "2")), StringComparison.Ordinal);
        Assert.Contains("torchrun", Fails(("WORLD_SIZE", "2")), StringComparison.Ordinal);
        Assert.Contains("WORLD_SIZE is not set", Fails(("RANK", "0")), StringComparison.Ordinal);
        Assert.Contains("RANK='one' is not an integer", Fails(("RANK", "one"), ("WORLD_SIZE", "2")), StringComparison.Ordinal);
        Assert.Contains("The rank from the environment is 2; with a world size of 2 it must be 0..1", Fails(("RANK", "2"), ("WORLD_SIZE", "2")), StringComparison.Ordinal);
        Assert.Contains("MASTER_ADDR and MASTER_PORT must both be set", Fails(("RANK", "1"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "127.0.0.1")), StringComparison.Ordinal);
        Assert.Contains("MASTER_PORT=(not set)", Fails(("RANK", "1"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "127.0.0.1")), StringComparison.Ordinal);
        Assert.Contains("MASTER_PORT='99999' is not a TCP port", Fails(("RANK", "1"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "99999")), StringComparison.Ordinal);
        Assert.Contains("NCCLEP_RENDEZVOUS='nfs:/x'", Fails(("RANK", "1"), ("WORLD_SIZE", "2"), ("NCCLEP_RENDEZVOUS", "nfs:/x")), StringComparison.Ordinal);
        Assert.Contains("NCCLEP_RENDEZVOUS_TIMEOUT='soon'", Fails(("RANK", "1"), ("WORLD_SIZE", "2"), ("NCCLEP_RENDEZVOUS", "file:/tmp/x"), ("NCCLEP_RENDEZVOUS_TIMEOUT", "soon")), StringComparison.Ordinal);
    }

    [Fact]
    public void FromEnvironment_of_a_single_process_needs_no_address()
    {
        using EpRendezvous alone = EpRendezvous.FromEnvironment(Env(("RANK", "0"), ("WORLD_SIZE", "1"), ("LOCAL_RANK", "0")), null);
        Assert.Equal("local:", alone.Address);
        Assert.Equal([5], alone.Share(() => [5]));
    }

    [Fact]
    public void A_tcp_rendezvous_without_a_secret_on_a_network_address_warns_and_on_loopback_does_not()
    {
        var warnings = new List<string>();
        var options = new EpRendezvousOptions { OnWarning = warnings.Add };
        using (EpRendezvous.Tcp("192.0.2.10", 29500, 1, 2, options: options))
        {
        }
        string warning = Assert.Single(warnings);
        Assert.Contains("tcp:192.0.2.10:29500 has no job secret", warning, StringComparison.Ordinal);
        Assert.Contains("NCCLEP_RENDEZVOUS_SECRET", warning, StringComparison.Ordinal);

        // Nothing to say on loopback, with a secret, or for a world of one (this rank 1 of 2 connects to nobody here).
        using (EpRendezvous.Tcp("127.0.0.1", 29500, 1, 2, options: options)) { }
        using (EpRendezvous.Tcp("localhost", 29500, 1, 2, options: options)) { }
        using (EpRendezvous.Tcp("::1", 29500, 1, 2, options: options)) { }
        using (EpRendezvous.Tcp("192.0.2.10", 29500, 1, 2, options: options with { Secret = "0123456789abcdef" })) { }
        using (EpRendezvous.Tcp("192.0.2.10", 29500, 0, 1, options: options)) { }
        Assert.Single(warnings);
    }

    [Fact]
    public void RequireSecret_refuses_a_rendezvous_without_one_and_a_short_secret_is_refused()
    {
        var require = new EpRendezvousOptions { RequireSecret = true };
        ArgumentException tcp = Assert.Throws<ArgumentException>(() => EpRendezvous.Tcp("127.0.0.1", 29500, 1, 2, options: require));
        Assert.Equal("options", tcp.ParamName);
        Assert.Contains("no secret and RequireSecret is set", tcp.Message, StringComparison.Ordinal);
        Assert.Equal("options", Assert.Throws<ArgumentException>(() => EpRendezvous.File(Nowhere, 1, 2, options: require)).ParamName);
        using (EpRendezvous.Tcp("127.0.0.1", 29500, 1, 2, options: require with { Secret = "0123456789abcdef" })) { }
        using (EpRendezvous.File(Nowhere, 0, 1, options: require)) { } // one rank meets nobody

        ArgumentException tooShort = Assert.Throws<ArgumentException>(() => EpRendezvous.Parse("tcp:127.0.0.1:29500", 1, 2, options: new EpRendezvousOptions { Secret = "short" }));
        Assert.Equal("options", tooShort.ParamName);
        Assert.Contains("secret is 5 bytes; it must be 16..", tooShort.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("short", tooShort.Message, StringComparison.Ordinal); // the secret itself is never shown
        string shown = new EpRendezvousOptions { Secret = "do-not-print-this-secret", JobId = "job-7" }.ToString();
        Assert.Contains("Secret = (set)", shown, StringComparison.Ordinal);
        Assert.Contains("JobId = job-7", shown, StringComparison.Ordinal);
        Assert.DoesNotContain("do-not-print", shown, StringComparison.Ordinal);
    }
}
