using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Security.Cryptography;
using System.Threading.Tasks;
using NcclEp.Distributed;
using Xunit;

namespace NcclEp.Tests.Distributed;

/// <summary>
/// Real processes: the test assembly started again as <c>dotnet exec NcclEp.Tests.dll</c>, its startup hook
/// (<see cref="StartupHook"/>) running one rank that meets the others through the environment a launcher sets.
/// </summary>
public sealed class ChildProcessTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(25);
    private readonly ScratchFolder _scratch = new("ncclep-child-test-");
    private readonly List<Process> _children = [];

    public void Dispose()
    {
        foreach (Process child in _children)
        {
            if (!child.HasExited) child.Kill(entireProcessTree: true);
            child.Dispose();
        }
        _scratch.Dispose();
    }

    [Fact]
    public void Two_child_processes_meet_this_process_over_tcp_from_torchrun_style_variables()
    {
        byte[] id = RandomNumberGenerator.GetBytes(128);
        using EpRendezvous root = EpRendezvous.Tcp("127.0.0.1", 0, 0, 3, Limit);
        string port = root.Address[(root.Address.LastIndexOf(':') + 1)..];
        for (int r = 1; r < 3; r++)
        {
            Start(r, new Dictionary<string, string?>
            {
                ["RANK"] = r.ToString(CultureInfo.InvariantCulture),
                ["WORLD_SIZE"] = "3",
                ["LOCAL_RANK"] = r.ToString(CultureInfo.InvariantCulture),
                ["MASTER_ADDR"] = "127.0.0.1",
                ["MASTER_PORT"] = port,
                ["NCCLEP_RENDEZVOUS"] = null,
                ["NCCLEP_RENDEZVOUS_TIMEOUT"] = "20",
                [StartupHook.ChildVariable] = "00", // not rank 0: never used
            });
        }

        byte[] got = root.Share(() => id);
        root.Barrier();
        byte[] second = root.Share(() => [3]);
        Assert.Equal(id, got);
        Assert.Equal([3], second);
        string[] lines = WaitForChildren();
        Assert.Equal($"rank 1 of 3 local 1 got {Convert.ToHexString(id)} then 3", lines[0]);
        Assert.Equal($"rank 2 of 3 local 2 got {Convert.ToHexString(id)} then 3", lines[1]);
    }

    [Fact]
    public void Two_child_processes_started_as_srun_would_meet_this_process_with_the_job_secret()
    {
        byte[] id = RandomNumberGenerator.GetBytes(128);
        string secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        using EpRendezvous root = EpRendezvous.Tcp("127.0.0.1", 0, 0, 3, Limit, options: new EpRendezvousOptions { Secret = secret });
        string port = root.Address[(root.Address.LastIndexOf(':') + 1)..];
        for (int r = 1; r < 3; r++)
        {
            Start(r, new Dictionary<string, string?>
            {
                ["RANK"] = null,
                ["WORLD_SIZE"] = null,
                ["LOCAL_RANK"] = null,
                ["MASTER_ADDR"] = null, // srun sets none of these: the step's one node means loopback
                ["MASTER_PORT"] = port,
                ["NCCLEP_RENDEZVOUS"] = null,
                ["SLURM_PROCID"] = r.ToString(CultureInfo.InvariantCulture),
                ["SLURM_NTASKS"] = "3",
                ["SLURM_LOCALID"] = r.ToString(CultureInfo.InvariantCulture),
                ["SLURM_JOB_ID"] = "4242",
                ["SLURM_STEP_ID"] = "0",
                ["SLURM_STEP_NUM_NODES"] = "1",
                [EpRendezvousOptions.SecretVariable] = secret,
                ["NCCLEP_RENDEZVOUS_TIMEOUT"] = "20",
                [StartupHook.ChildVariable] = "00", // not rank 0: never used
            });
        }

        byte[] got = root.Share(() => id);
        root.Barrier();
        Assert.Equal([3], root.Share(() => [3]));
        Assert.Equal(id, got);
        string[] lines = WaitForChildren();
        Assert.Equal($"rank 1 of 3 local 1 got {Convert.ToHexString(id)} then 3", lines[0]);
        Assert.Equal($"rank 2 of 3 local 2 got {Convert.ToHexString(id)} then 3", lines[1]);
    }

    [Fact]
    public void Three_child_processes_meet_through_a_file()
    {
        byte[] id = RandomNumberGenerator.GetBytes(128);
        string path = _scratch.PathFor("rendezvous");
        for (int r = 0; r < 3; r++)
        {
            Start(r, new Dictionary<string, string?>
            {
                ["RANK"] = r.ToString(CultureInfo.InvariantCulture),
                ["WORLD_SIZE"] = "3",
                ["LOCAL_RANK"] = null,
                ["MASTER_ADDR"] = null,
                ["MASTER_PORT"] = null,
                ["NCCLEP_RENDEZVOUS"] = "file:" + path,
                ["NCCLEP_RENDEZVOUS_TIMEOUT"] = "20",
                [StartupHook.ChildVariable] = Convert.ToHexString(id),
            });
        }
        string[] lines = WaitForChildren();
        for (int r = 0; r < 3; r++) Assert.Equal($"rank {r} of 3 local -1 got {Convert.ToHexString(id)} then 3", lines[r]);
    }

    private void Start(int rank, Dictionary<string, string?> environment)
    {
        string assembly = typeof(StartupHook).Assembly.Location;
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(assembly);
        start.Environment["DOTNET_STARTUP_HOOKS"] = assembly;
        foreach ((string name, string? value) in environment)
        {
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        }
        Process child = Process.Start(start) ?? throw new InvalidOperationException($"Could not start rank {rank}.");
        _children.Add(child);
    }

    /// <summary>Each child's single stdout line, in rank order of starting; asserts they all exited 0.</summary>
    private string[] WaitForChildren()
    {
        var lines = new string[_children.Count];
        var clock = Stopwatch.StartNew();
        Task<string>[] outputs = _children.ConvertAll(c => c.StandardOutput.ReadToEndAsync()).ToArray();
        Task<string>[] errors = _children.ConvertAll(c => c.StandardError.ReadToEndAsync()).ToArray();
        for (int i = 0; i < _children.Count; i++)
        {
            TimeSpan left = Limit - clock.Elapsed;
            Assert.True(_children[i].WaitForExit(left > TimeSpan.Zero ? left : TimeSpan.Zero), $"child {i} did not exit within {Limit}");
            _children[i].WaitForExit();
            string error = errors[i].GetAwaiter().GetResult();
            Assert.True(_children[i].ExitCode == 0, $"child {i} exited with {_children[i].ExitCode}: {error}");
            lines[i] = outputs[i].GetAwaiter().GetResult().Trim();
        }
        return lines;
    }
}
