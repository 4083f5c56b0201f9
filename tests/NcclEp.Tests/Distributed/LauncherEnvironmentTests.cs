using System;
using System.Collections.Generic;
using System.Globalization;
using NcclEp.Distributed;
using Xunit;

namespace NcclEp.Tests.Distributed;

/// <summary>What srun and mpirun set, the job id and the secret, read by FromEnvironment (nothing connects here).</summary>
public class LauncherEnvironmentTests
{
    /// <summary>A secret for the variables, so that no test here warns about an open network address.</summary>
    private const string Secret = "0123456789abcdef0123456789abcdef";

    private static Func<string, string?> Env(params (string Name, string Value)[] variables)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string name, string value) in variables) map[name] = value;
        return name => map.TryGetValue(name, out string? v) ? v : null;
    }

    private static string Port(string jobId) => LauncherEnvironment.DerivedPort(jobId).ToString(CultureInfo.InvariantCulture);

    [Fact]
    public void Under_srun_the_first_node_of_the_step_and_a_port_from_the_job_are_the_address()
    {
        using EpRendezvous rdv = EpRendezvous.FromEnvironment(Env(
            ("SLURM_PROCID", "5"), ("SLURM_NTASKS", "8"), ("SLURM_LOCALID", "1"), ("SLURM_JOB_ID", "4242"), ("SLURM_STEP_ID", "3"),
            ("SLURM_STEP_NODELIST", "gpu[07-10]"), ("SLURM_STEP_NUM_NODES", "4"), (EpRendezvousOptions.SecretVariable, Secret)), null);
        Assert.Equal((5, 8, 1), (rdv.Rank, rdv.WorldSize, rdv.LocalRank));
        Assert.Equal($"tcp:gpu07:{Port("slurm:4242.3")}", rdv.Address);

        // A step on one node meets on loopback; MASTER_ADDR and MASTER_PORT, when set, win.
        using EpRendezvous one = EpRendezvous.FromEnvironment(Env(
            ("SLURM_PROCID", "1"), ("SLURM_NTASKS", "4"), ("SLURM_JOB_ID", "77"), ("SLURM_STEP_NODELIST", "dgx1"), ("SLURM_STEP_NUM_NODES", "1")), null);
        Assert.Equal($"tcp:127.0.0.1:{Port("slurm:77")}", one.Address);
        using EpRendezvous given = EpRendezvous.FromEnvironment(Env(
            ("SLURM_PROCID", "1"), ("SLURM_NTASKS", "4"), ("SLURM_JOB_ID", "77"), ("SLURM_STEP_NUM_NODES", "1"), ("MASTER_ADDR", "127.0.0.2"), ("MASTER_PORT", "29511")), null);
        Assert.Equal("tcp:127.0.0.2:29511", given.Address);
    }

    [Fact]
    public void Under_mpirun_on_one_node_the_ranks_meet_on_loopback_at_a_port_from_the_job()
    {
        using EpRendezvous rdv = EpRendezvous.FromEnvironment(Env(
            ("OMPI_COMM_WORLD_RANK", "2"), ("OMPI_COMM_WORLD_SIZE", "4"), ("OMPI_COMM_WORLD_LOCAL_RANK", "2"), ("OMPI_COMM_WORLD_LOCAL_SIZE", "4"),
            ("PMIX_NAMESPACE", "prterun-host-1234@1")), null);
        Assert.Equal((2, 4, 2), (rdv.Rank, rdv.WorldSize, rdv.LocalRank));
        Assert.Equal($"tcp:127.0.0.1:{Port("pmix:prterun-host-1234@1")}", rdv.Address);

        // Over several nodes, mpirun says nothing about where rank 0 is: the message says what to set.
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => EpRendezvous.FromEnvironment(Env(
            ("OMPI_COMM_WORLD_RANK", "2"), ("OMPI_COMM_WORLD_SIZE", "16"), ("OMPI_COMM_WORLD_LOCAL_SIZE", "8"), ("OMPI_MCA_ess_base_jobid", "99")), null));
        Assert.Contains("MASTER_ADDR and MASTER_PORT must both be set", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("NCCLEP_RENDEZVOUS_JOB", "given", "given")]
    [InlineData("SLURM_JOB_ID", "4242", "slurm:4242")]
    [InlineData("PMIX_NAMESPACE", "prterun-x@1", "pmix:prterun-x@1")]
    [InlineData("OMPI_MCA_ess_base_jobid", "12345", "ompi:12345")]
    [InlineData("TORCHELASTIC_RUN_ID", "abc", "torchrun:abc/0")]
    [InlineData("TORCHELASTIC_RUN_ID", "none", null)]
    public void The_job_id_comes_from_the_launcher(string variable, string value, string? expected)
    {
        Assert.Equal(expected, EpRendezvousOptionsFrom(Env((variable, value))).JobId);
    }

    [Fact]
    public void The_job_id_names_the_slurm_step_and_the_torchrun_restart_and_prefers_the_given_one()
    {
        Assert.Equal("slurm:4242.7", EpRendezvousOptionsFrom(Env(("SLURM_JOB_ID", "4242"), ("SLURM_STEP_ID", "7"), ("PMIX_NAMESPACE", "x"))).JobId);
        Assert.Equal("torchrun:abc/2", EpRendezvousOptionsFrom(Env(("TORCHELASTIC_RUN_ID", "abc"), ("TORCHELASTIC_RESTART_COUNT", "2"))).JobId);
        Assert.Equal("mine", EpRendezvousOptionsFrom(Env(("NCCLEP_RENDEZVOUS_JOB", "mine"), ("SLURM_JOB_ID", "4242"))).JobId);
        Assert.Null(EpRendezvousOptionsFrom(Env()).JobId);
    }

    [Fact]
    public void A_file_rendezvous_from_the_environment_is_scoped_to_the_launchers_job()
    {
        using EpRendezvous a = EpRendezvous.FromEnvironment(Env(("RANK", "1"), ("WORLD_SIZE", "2"), ("NCCLEP_RENDEZVOUS", "file:/tmp/ncclep-x/id"), ("SLURM_JOB_ID", "1")), null);
        using EpRendezvous b = EpRendezvous.FromEnvironment(Env(("RANK", "1"), ("WORLD_SIZE", "2"), ("NCCLEP_RENDEZVOUS", "file:/tmp/ncclep-x/id"), ("SLURM_JOB_ID", "2")), null);
        Assert.Equal("file:/tmp/ncclep-x/id", a.Address);
        Assert.StartsWith("/tmp/ncclep-x/id.job-", ((FileRendezvous)a).RecordPath, StringComparison.Ordinal);
        Assert.NotEqual(((FileRendezvous)a).RecordPath, ((FileRendezvous)b).RecordPath);
    }

    [Theory]
    [InlineData("gpu[07-10]", "gpu07")]
    [InlineData("gpu[12,3-4],cpu1", "gpu12")]
    [InlineData("node1,node2", "node1")]
    [InlineData("rack[2-3]-n[08-09]", "rack2-n08")]
    [InlineData(" dgx-a100 ", "dgx-a100")]
    [InlineData("gpu[07", null)]
    public void The_first_host_of_a_slurm_host_list_is_read(string list, string? first)
    {
        Assert.Equal(first, LauncherEnvironment.FirstHost(list));
    }

    [Fact]
    public void A_port_derived_from_a_job_is_stable_in_range_and_differs_between_jobs()
    {
        int port = LauncherEnvironment.DerivedPort("slurm:4242.0");
        Assert.Equal(port, LauncherEnvironment.DerivedPort("slurm:4242.0"));
        Assert.InRange(port, LauncherEnvironment.DerivedPortBase, LauncherEnvironment.DerivedPortBase + LauncherEnvironment.DerivedPortCount - 1);
        Assert.NotEqual(port, LauncherEnvironment.DerivedPort("slurm:4242.1"));
    }

    [Fact]
    public void The_secret_and_the_demand_for_one_are_read_and_checked_without_showing_the_secret()
    {
        EpRendezvousOptions options = EpRendezvousOptionsFrom(Env((EpRendezvousOptions.SecretVariable, Secret), (EpRendezvousOptions.RequireSecretVariable, "1")));
        Assert.Equal(Secret, options.Secret);
        Assert.True(options.RequireSecret);

        InvalidOperationException shortSecret = Assert.Throws<InvalidOperationException>(() => EpRendezvousOptionsFrom(Env((EpRendezvousOptions.SecretVariable, "hunter2"))));
        Assert.Contains("NCCLEP_RENDEZVOUS_SECRET is 7 bytes; it must be 16..", shortSecret.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", shortSecret.Message, StringComparison.Ordinal);
        Assert.Contains("is not 1 or 0", Assert.Throws<InvalidOperationException>(() => EpRendezvousOptionsFrom(Env((EpRendezvousOptions.RequireSecretVariable, "maybe")))).Message, StringComparison.Ordinal);

        InvalidOperationException required = Assert.Throws<InvalidOperationException>(() => EpRendezvous.FromEnvironment(Env(
            ("RANK", "1"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", "29500"), (EpRendezvousOptions.RequireSecretVariable, "true")), null));
        Assert.Contains("NCCLEP_RENDEZVOUS_REQUIRE_SECRET is set but NCCLEP_RENDEZVOUS_SECRET is not", required.Message, StringComparison.Ordinal);
        using EpRendezvous alone = EpRendezvous.FromEnvironment(Env(("RANK", "0"), ("WORLD_SIZE", "1"), (EpRendezvousOptions.RequireSecretVariable, "1")), null);
        Assert.Equal("local:", alone.Address); // one rank meets nobody: nothing to protect
    }

    private static EpRendezvousOptions EpRendezvousOptionsFrom(Func<string, string?> variable) => LauncherEnvironment.Options(variable);
}
