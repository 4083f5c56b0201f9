using System;
using System.Globalization;
using System.Text;

namespace NcclEp.Distributed;

/// <summary>
/// What torchrun, srun (Slurm) and mpirun (Open MPI, PMIx) tell a process in its environment: its rank, the world
/// size, its local rank, the job, and where the ranks meet (<see cref="EpRendezvous.FromEnvironment(EpRendezvousOptions?, TimeSpan?)"/>).
/// </summary>
internal static class LauncherEnvironment
{
    /// <summary>Ports derived from a job id lie in [<see cref="DerivedPortBase"/>, +<see cref="DerivedPortCount"/>): below
    /// Linux's ephemeral range, away from torchrun's 29500.</summary>
    internal const int DerivedPortBase = 20000;

    internal const int DerivedPortCount = 9000;

    private const string Hint = "Launch with torchrun (or mpirun, srun), or set RANK, WORLD_SIZE, LOCAL_RANK and MASTER_ADDR/MASTER_PORT (or NCCLEP_RENDEZVOUS=file:PATH|tcp:HOST:PORT) yourself.";

    private enum Launcher
    {
        None,
        OpenMpi,
        Slurm,
    }

    public static EpRendezvous Rendezvous(Func<string, string?> variable, TimeSpan? timeout, EpRendezvousOptions? options)
    {
        ArgumentNullException.ThrowIfNull(variable);
        (int rank, string rankName) = Integer(variable, ["RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"])
            ?? throw new InvalidOperationException($"RANK is not set (nor OMPI_COMM_WORLD_RANK, PMI_RANK, SLURM_PROCID). {Hint}");
        int world = Integer(variable, ["WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"])?.Value
            ?? throw new InvalidOperationException($"WORLD_SIZE is not set (nor OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_NTASKS). {Hint}");
        int local = Integer(variable, ["LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"])?.Value ?? -1;
        if (world < 1) throw new InvalidOperationException($"The world size from the environment is {world}; it must be at least 1.");
        if (rank < 0 || rank >= world) throw new InvalidOperationException($"The rank from the environment is {rank}; with a world size of {world} it must be 0..{world - 1}.");
        if (local < -1) throw new InvalidOperationException($"The local rank from the environment is {local}; it must not be negative.");
        Launcher launcher = rankName switch
        {
            "OMPI_COMM_WORLD_RANK" => Launcher.OpenMpi,
            "SLURM_PROCID" => Launcher.Slurm,
            _ => Launcher.None,
        };

        timeout ??= Timeout(variable);
        options ??= Options(variable);
        if (options.RequireSecret && options.Secret is null && world > 1)
            throw new InvalidOperationException($"{EpRendezvousOptions.RequireSecretVariable} is set but {EpRendezvousOptions.SecretVariable} is not: give every rank the same secret (e.g. openssl rand -hex 32).");

        string? address = variable(EpRendezvous.AddressVariable);
        if (!string.IsNullOrWhiteSpace(address))
        {
            try
            {
                return EpRendezvous.Parse(address.Trim(), rank, world, timeout, local, options);
            }
            catch (ArgumentException e) when (e.ParamName != "options")
            {
                throw new InvalidOperationException($"{EpRendezvous.AddressVariable}='{address}': {e.Message}", e);
            }
        }

        string? host = Text(variable, "MASTER_ADDR") ?? LauncherHost(variable, launcher);
        string? portText = Text(variable, "MASTER_PORT");
        int port;
        if (portText is null && host is not null && launcher != Launcher.None && options.JobId is not null)
        {
            port = DerivedPort(options.JobId);
        }
        else if (host is null || portText is null)
        {
            if (world == 1) return new LocalRendezvous(timeout ?? EpRendezvous.DefaultTimeout, local);
            throw new InvalidOperationException(
                $"Rank {rank} of {world}: MASTER_ADDR and MASTER_PORT must both be set for a TCP rendezvous (MASTER_ADDR={Show(variable("MASTER_ADDR"))}, MASTER_PORT={Show(portText)}), or set {EpRendezvous.AddressVariable}. {Hint}");
        }
        else if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port < 1 || port > 65535)
        {
            throw new InvalidOperationException($"MASTER_PORT='{portText}' is not a TCP port (1..65535).");
        }
        return EpRendezvous.Tcp(host, port, rank, world, timeout, local, options);
    }

    /// <summary>The options the environment describes (<see cref="EpRendezvousOptions.FromEnvironment()"/>).</summary>
    public static EpRendezvousOptions Options(Func<string, string?> variable)
    {
        ArgumentNullException.ThrowIfNull(variable);
        string? secret = variable(EpRendezvousOptions.SecretVariable);
        if (string.IsNullOrEmpty(secret)) secret = null;
        if (secret is not null)
        {
            int bytes = Encoding.UTF8.GetByteCount(secret);
            if (bytes < EpRendezvousOptions.MinSecretBytes || bytes > EpRendezvousOptions.MaxSecretBytes)
                throw new InvalidOperationException($"{EpRendezvousOptions.SecretVariable} is {bytes} bytes; it must be {EpRendezvousOptions.MinSecretBytes}..{EpRendezvousOptions.MaxSecretBytes} (use a random one per job, e.g. openssl rand -hex 32).");
        }
        string? require = Text(variable, EpRendezvousOptions.RequireSecretVariable);
        bool required = require is null ? false
            : require is "1" || require.Equals("true", StringComparison.OrdinalIgnoreCase) || require.Equals("yes", StringComparison.OrdinalIgnoreCase) ? true
            : require is "0" || require.Equals("false", StringComparison.OrdinalIgnoreCase) || require.Equals("no", StringComparison.OrdinalIgnoreCase) ? false
            : throw new InvalidOperationException($"{EpRendezvousOptions.RequireSecretVariable}='{require}' is not 1 or 0 (true or false).");
        return new EpRendezvousOptions { Secret = secret, RequireSecret = required, JobId = JobId(variable) };
    }

    /// <summary>
    /// The job this process belongs to: <c>NCCLEP_RENDEZVOUS_JOB</c>, else Slurm's job and step, else the Open MPI /
    /// PMIx job, else torchrun's run and restart; null if none is set.
    /// </summary>
    public static string? JobId(Func<string, string?> variable)
    {
        if (Text(variable, EpRendezvousOptions.JobVariable) is { } given) return given;
        if (Text(variable, "SLURM_JOB_ID") is { } slurm)
            return Text(variable, "SLURM_STEP_ID") is { } step ? $"slurm:{slurm}.{step}" : $"slurm:{slurm}";
        if (Text(variable, "PMIX_NAMESPACE") is { } pmix) return $"pmix:{pmix}";
        if (Text(variable, "OMPI_MCA_ess_base_jobid") is { } ompi) return $"ompi:{ompi}";
        if (Text(variable, "TORCHELASTIC_RUN_ID") is { } run && run != "none")
            return $"torchrun:{run}/{Text(variable, "TORCHELASTIC_RESTART_COUNT") ?? "0"}";
        return null;
    }

    /// <summary>The port every rank of job <paramref name="jobId"/> derives (a stable hash, the same in every process).</summary>
    public static int DerivedPort(string jobId)
    {
        uint hash = 2166136261; // FNV-1a
        foreach (byte b in Encoding.UTF8.GetBytes(jobId)) hash = (hash ^ b) * 16777619;
        return DerivedPortBase + (int)(hash % DerivedPortCount);
    }

    /// <summary>
    /// The first host of a Slurm host list: <c>gpu[07-09,12],cpu1</c> gives <c>gpu07</c>; null if it cannot be read.
    /// </summary>
    public static string? FirstHost(string hostList)
    {
        int depth = 0, end = hostList.Length;
        for (int i = 0; i < hostList.Length; i++)
        {
            if (hostList[i] == '[') depth++;
            else if (hostList[i] == ']') depth--;
            else if (hostList[i] == ',' && depth == 0)
            {
                end = i;
                break;
            }
        }
        string item = hostList[..end].Trim();
        var host = new StringBuilder();
        for (int i = 0; i < item.Length; i++)
        {
            if (item[i] != '[')
            {
                host.Append(item[i]);
                continue;
            }
            int close = item.IndexOf(']', i);
            if (close < 0) return null;
            string range = item[(i + 1)..close];
            int cut = range.IndexOfAny([',', '-']);
            host.Append(cut < 0 ? range : range[..cut]);
            i = close;
        }
        return host.Length == 0 ? null : host.ToString();
    }

    /// <summary>Where rank 0 listens when only the launcher knows: loopback for a job on one node, else (Slurm) the first node.</summary>
    private static string? LauncherHost(Func<string, string?> variable, Launcher launcher)
    {
        switch (launcher)
        {
            case Launcher.Slurm:
                if ((Text(variable, "SLURM_STEP_NUM_NODES") ?? Text(variable, "SLURM_NNODES")) == "1") return "127.0.0.1";
                string? nodes = Text(variable, "SLURM_STEP_NODELIST") ?? Text(variable, "SLURM_JOB_NODELIST");
                return nodes is null ? null : FirstHost(nodes);
            case Launcher.OpenMpi:
                string? localSize = Text(variable, "OMPI_COMM_WORLD_LOCAL_SIZE");
                return localSize is not null && localSize == Text(variable, "OMPI_COMM_WORLD_SIZE") ? "127.0.0.1" : null;
            default:
                return null;
        }
    }

    private static TimeSpan? Timeout(Func<string, string?> variable)
    {
        string? text = variable(EpRendezvous.TimeoutVariable);
        if (string.IsNullOrWhiteSpace(text)) return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) || !(seconds > 0) || seconds > 86_400)
            throw new InvalidOperationException($"{EpRendezvous.TimeoutVariable}='{text}' is not a number of seconds (0 < s ≤ 86400).");
        return TimeSpan.FromSeconds(seconds);
    }

    private static (int Value, string Name)? Integer(Func<string, string?> variable, string[] names)
    {
        foreach (string name in names)
        {
            string? text = variable(name);
            if (string.IsNullOrWhiteSpace(text)) continue;
            if (!int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
                throw new InvalidOperationException($"{name}='{text}' is not an integer.");
            return (value, name);
        }
        return null;
    }

    private static string? Text(Func<string, string?> variable, string name)
    {
        string? text = variable(name);
        return string.IsNullOrWhiteSpace(text) ? null : text.Trim();
    }

    private static string Show(string? value) => string.IsNullOrWhiteSpace(value) ? "(not set)" : $"'{value}'";
}
