using System;
using System.Globalization;
using System.Threading;

namespace NcclEp.Distributed;

/// <summary>
/// How the ranks of a group that runs as separate processes (one per GPU) meet before they build the group:
/// rank 0 makes a payload (for NcclEp, the 128-byte NCCL unique id) and every rank receives the same bytes;
/// and a barrier. Every wait is bounded by <see cref="Timeout"/> and ends in an
/// <see cref="EpRendezvousException"/> that names the rank and the address.
/// </summary>
/// <remarks>
/// <para>Three ways to meet: <see cref="FromEnvironment(EpRendezvousOptions?, TimeSpan?)"/> (the variables torchrun, mpirun and srun
/// set), <see cref="File"/> (rank 0 writes the payload to a shared file) and <see cref="Tcp"/> (rank 0 listens,
/// the others connect). Every rank must perform the same sequence of <see cref="Share"/> and
/// <see cref="Barrier"/> calls. An instance is used by one thread at a time; after a failure it refuses
/// further use (the ranks no longer agree where they are), and it tells the other ranks so they fail fast.</para>
/// <para>Who may take part: <see cref="EpRendezvousOptions"/>. With a job secret every rank proves it and the payload
/// goes only to ranks that did; without one, anyone who can reach the address (or write the folder) can take part,
/// and a TCP rendezvous on a network address warns. A peer that breaks the protocol is dropped, never fatal.</para>
/// <para>A world of one rank never waits and touches neither files nor sockets.</para>
/// <para>Other channels (an existing MPI or torch.distributed setup) can derive from this class: implement
/// <see cref="ShareCore"/>, <see cref="BarrierCore"/> and <see cref="Address"/>.</para>
/// </remarks>
public abstract class EpRendezvous : IDisposable
{
    /// <summary>The largest payload <see cref="Share"/> carries (1 MiB).</summary>
    public const int MaxPayloadBytes = 1 << 20;

    /// <summary>Environment variable with a rendezvous address (<c>file:PATH</c> or <c>tcp:HOST:PORT</c>) that
    /// <see cref="FromEnvironment(EpRendezvousOptions?, TimeSpan?)"/> prefers to <c>MASTER_ADDR</c>/<c>MASTER_PORT</c>.</summary>
    public const string AddressVariable = "NCCLEP_RENDEZVOUS";

    /// <summary>Environment variable with the time-out in seconds that <see cref="FromEnvironment(EpRendezvousOptions?, TimeSpan?)"/> uses when none is given.</summary>
    public const string TimeoutVariable = "NCCLEP_RENDEZVOUS_TIMEOUT";

    private readonly Lock _gate = new();
    private Exception? _failure;
    private bool _disposed;

    /// <summary>Sets the facts every rendezvous has.</summary>
    /// <param name="rank">This process's rank, 0..<paramref name="worldSize"/>-1.</param>
    /// <param name="worldSize">Processes (ranks) that meet.</param>
    /// <param name="timeout">Longest wait of one <see cref="Share"/> or <see cref="Barrier"/> step.</param>
    /// <param name="localRank">This process's index on its machine (the GPU it usually takes), or -1 if not known.</param>
    protected EpRendezvous(int rank, int worldSize, TimeSpan timeout, int localRank = -1)
    {
        if (worldSize < 1) ThrowHelper.OutOfRange(nameof(worldSize), worldSize, "must be at least 1");
        if ((uint)rank >= (uint)worldSize) ThrowHelper.OutOfRange(nameof(rank), rank, $"must be 0..{worldSize - 1} (world size {worldSize})");
        if (localRank < -1) ThrowHelper.OutOfRange(nameof(localRank), localRank, "must be -1 (not known) or a device index");
        if (timeout <= TimeSpan.Zero || timeout > TimeSpan.FromDays(1))
            ThrowHelper.Argument(nameof(timeout), $"The rendezvous time-out must be positive and at most a day, not {timeout}.");
        Rank = rank;
        WorldSize = worldSize;
        LocalRank = localRank;
        Timeout = timeout;
    }

    /// <summary>The default time-out of one step: 5 minutes.</summary>
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromMinutes(5);

    /// <summary>This process's rank.</summary>
    public int Rank { get; }

    /// <summary>Processes (ranks) that meet.</summary>
    public int WorldSize { get; }

    /// <summary>This process's index on its machine (LOCAL_RANK), or -1 if not known.</summary>
    public int LocalRank { get; }

    /// <summary>Longest wait of one <see cref="Share"/> or <see cref="Barrier"/> step.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Where the ranks meet, in the form <see cref="Parse"/> reads: <c>file:PATH</c> or <c>tcp:HOST:PORT</c>
    /// (for rank 0 of a TCP rendezvous on port 0, the port it actually listens on).</summary>
    public abstract string Address { get; }

    /// <summary>
    /// Rank 0 calls <paramref name="createPayload"/> and sends the bytes to every rank; every rank returns those
    /// bytes, after all ranks have them (the step ends with a barrier). Collective: every rank calls it. The
    /// delegate runs on rank 0 only (for NcclEp, <c>ncclGetUniqueId</c>).
    /// </summary>
    /// <exception cref="EpRendezvousException">A rank did not arrive within <see cref="Timeout"/>, a connection
    /// closed, or another rank aborted.</exception>
    public byte[] Share(Func<byte[]> createPayload)
    {
        ArgumentNullException.ThrowIfNull(createPayload);
        lock (_gate)
        {
            ThrowIfUnusable();
            if (WorldSize == 1) return CreatePayload(createPayload);
            try
            {
                byte[] payload = ShareCore(createPayload);
                if (payload is null || payload.Length > MaxPayloadBytes)
                    throw Failure($"the rendezvous delivered {(payload is null ? "no payload" : $"{payload.Length} bytes")}; at most {MaxPayloadBytes} were expected", timedOut: false);
                BarrierCore();
                return payload;
            }
            catch (Exception e)
            {
                Fail(e);
                throw;
            }
        }
    }

    /// <summary>Returns when every rank has called it (collective), or throws after <see cref="Timeout"/>.</summary>
    /// <exception cref="EpRendezvousException">A rank did not arrive in time, a connection closed, or a rank aborted.</exception>
    public void Barrier()
    {
        lock (_gate)
        {
            ThrowIfUnusable();
            if (WorldSize == 1) return;
            try
            {
                BarrierCore();
            }
            catch (Exception e)
            {
                Fail(e);
                throw;
            }
        }
    }

    /// <summary>
    /// Tells the other ranks (best effort) that this rank has failed, so that they stop at their current or next step
    /// with an <see cref="EpRendezvousException"/> carrying <paramref name="reason"/> instead of waiting out the
    /// time-out. This rendezvous cannot be used afterwards. <see cref="EpGroup.CreateCudaRank(EpConfig, int, int, int, EpRendezvous, EpGroupOptions?)"/>
    /// calls it when it fails after the ranks met.
    /// </summary>
    public void Abort(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        lock (_gate)
        {
            if (_disposed || _failure is not null) return;
            _failure = new EpRendezvousException(Rank, Address, $"Rank {Rank} of {WorldSize} (rendezvous {Address}) aborted: {reason}", timedOut: false);
            if (WorldSize > 1) Tell(reason);
        }
    }

    /// <summary>
    /// A rendezvous at <paramref name="address"/>: <c>file:PATH</c> (see <see cref="File"/>) or <c>tcp:HOST:PORT</c>
    /// (see <see cref="Tcp"/>; an IPv6 host in brackets, <c>tcp:[::1]:29500</c>).
    /// </summary>
    /// <param name="address">Where the ranks meet.</param>
    /// <param name="rank">This process's rank, 0..<paramref name="worldSize"/>-1.</param>
    /// <param name="worldSize">Processes (ranks) that meet.</param>
    /// <param name="timeout">Longest wait of one step; default <see cref="DefaultTimeout"/>.</param>
    /// <param name="localRank">This process's index on its machine, or -1 if not known.</param>
    /// <param name="options">The job secret, job id and policy (the same on every rank); default none.</param>
    public static EpRendezvous Parse(string address, int rank, int worldSize, TimeSpan? timeout = null, int localRank = -1, EpRendezvousOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            return File(address[5..], rank, worldSize, timeout, localRank, options);
        if (address.StartsWith("tcp:", StringComparison.OrdinalIgnoreCase))
        {
            string rest = address[4..];
            int colon = rest.LastIndexOf(':');
            string host = colon > 0 ? rest[..colon] : string.Empty;
            if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
            if (host.Length == 0 || !int.TryParse(rest.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port))
                throw new ArgumentException($"'{address}' is not a TCP rendezvous address: write tcp:HOST:PORT (e.g. tcp:127.0.0.1:29500).", nameof(address));
            return Tcp(host, port, rank, worldSize, timeout, localRank, options);
        }
        throw new ArgumentException($"'{address}' is not a rendezvous address: write file:PATH or tcp:HOST:PORT.", nameof(address));
    }

    /// <summary>
    /// A file rendezvous: rank 0 writes the payload to <paramref name="path"/> (a temporary file renamed into place, so
    /// no rank reads half of it) and the other ranks poll for it; every step is acknowledged through small files
    /// beside it (<c>PATH.rankN</c>). The path must be on a file system every rank sees (one machine: any local
    /// folder). Rank 0 creates the folder if it is missing (readable by its owner only); every file is created
    /// readable by its owner only. With a secret or a job id in <paramref name="options"/>, the job's files are
    /// <c>PATH.job-TAG</c> and <c>PATH.job-TAG.rankN</c> (the tag from the secret and job id), so jobs given one path
    /// stay apart, and files of another job or secret are ignored. Without either, use a fresh path for each job.
    /// </summary>
    /// <param name="path">The record's path (the file need not exist).</param>
    /// <param name="rank">This process's rank, 0..<paramref name="worldSize"/>-1.</param>
    /// <param name="worldSize">Processes (ranks) that meet.</param>
    /// <param name="timeout">Longest wait of one step; default <see cref="DefaultTimeout"/>.</param>
    /// <param name="localRank">This process's index on its machine, or -1 if not known.</param>
    /// <param name="options">The job secret, job id and policy (the same on every rank); default none.</param>
    public static EpRendezvous File(string path, int rank, int worldSize, TimeSpan? timeout = null, int localRank = -1, EpRendezvousOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= EpRendezvousOptions.Default;
        options.Validate(worldSize);
        return new FileRendezvous(path, rank, worldSize, timeout ?? DefaultTimeout, localRank, options);
    }

    /// <summary>
    /// A TCP rendezvous: rank 0 listens on <paramref name="host"/>:<paramref name="port"/> (an address of rank 0's
    /// machine; it starts listening here, so an unusable address fails at once), the others connect (retrying until
    /// the time-out) and stay connected for later steps. Port 0 on rank 0 takes a free port; <see cref="Address"/>
    /// then names it. Rank 0 handles joining connections side by side, each with its own deadline, and drops any that
    /// breaks the protocol (remembered for its error message if the ranks do not meet); it stops listening once every
    /// rank has joined. With a secret in <paramref name="options"/>, both sides prove it before anything about the job
    /// is sent; without one, an address other than loopback warns (see <see cref="EpRendezvousOptions"/>).
    /// </summary>
    /// <param name="host">Rank 0's address (an IP address or a host name).</param>
    /// <param name="port">Rank 0's port; 0 on rank 0 takes a free one.</param>
    /// <param name="rank">This process's rank, 0..<paramref name="worldSize"/>-1.</param>
    /// <param name="worldSize">Processes (ranks) that meet.</param>
    /// <param name="timeout">Longest wait of one step; default <see cref="DefaultTimeout"/>.</param>
    /// <param name="localRank">This process's index on its machine, or -1 if not known.</param>
    /// <param name="options">The job secret and policy (the same on every rank); default none.</param>
    public static EpRendezvous Tcp(string host, int port, int rank, int worldSize, TimeSpan? timeout = null, int localRank = -1, EpRendezvousOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        if (port < 0 || port > 65535 || (port == 0 && rank != 0))
            ThrowHelper.OutOfRange(nameof(port), port, rank == 0 ? "must be 0..65535" : "must be 1..65535 (only rank 0 may ask for a free port with 0)");
        options ??= EpRendezvousOptions.Default;
        options.Validate(worldSize);
        return new TcpRendezvous(host, port, rank, worldSize, timeout ?? DefaultTimeout, localRank, options);
    }

    /// <summary>
    /// The rendezvous a launcher describes in the environment: the rank from <c>RANK</c> (else
    /// <c>OMPI_COMM_WORLD_RANK</c>, <c>PMI_RANK</c>, <c>SLURM_PROCID</c>), the world size from <c>WORLD_SIZE</c>
    /// (else <c>OMPI_COMM_WORLD_SIZE</c>, <c>PMI_SIZE</c>, <c>SLURM_NTASKS</c>), the local rank from
    /// <c>LOCAL_RANK</c> (else <c>OMPI_COMM_WORLD_LOCAL_RANK</c>, <c>MPI_LOCALRANKID</c>, <c>SLURM_LOCALID</c>), the
    /// address from <c>NCCLEP_RENDEZVOUS</c> if set, else TCP at <c>MASTER_ADDR</c>:<c>MASTER_PORT</c>; under srun
    /// without them, the first node of the step (loopback for a step on one node), and under mpirun on one node,
    /// loopback; then the port (unless <c>MASTER_PORT</c> is set) is derived from the job id. The secret, job id and
    /// policy come from <paramref name="options"/>, else from the environment.
    /// </summary>
    /// <param name="options">The job secret, job id and policy (the same on every rank); null: from the environment
    /// (<see cref="EpRendezvousOptions.FromEnvironment()"/>).</param>
    /// <param name="timeout">Longest wait of one step; default <c>NCCLEP_RENDEZVOUS_TIMEOUT</c> seconds, else <see cref="DefaultTimeout"/>.</param>
    /// <exception cref="InvalidOperationException">A variable is missing or not a number; the message names it.</exception>
    /// <exception cref="ArgumentException">The options are not usable (named <c>options</c>).</exception>
    public static EpRendezvous FromEnvironment(EpRendezvousOptions? options = null, TimeSpan? timeout = null) =>
        LauncherEnvironment.Rendezvous(Environment.GetEnvironmentVariable, timeout, options);

    internal static EpRendezvous FromEnvironment(Func<string, string?> variable, TimeSpan? timeout, EpRendezvousOptions? options = null) =>
        LauncherEnvironment.Rendezvous(variable, timeout, options);

    /// <summary>Rank 0: sends the payload that <paramref name="createPayload"/> makes (call it through
    /// <see cref="CreatePayload"/>) to every rank; other ranks: receives it. No barrier (the caller adds one).</summary>
    protected abstract byte[] ShareCore(Func<byte[]> createPayload);

    /// <summary>Returns when every rank has called it, or throws <see cref="EpRendezvousException"/> after <see cref="Timeout"/>.</summary>
    protected abstract void BarrierCore();

    /// <summary>Called (best effort, exceptions ignored) after a step failed on this rank: tell the other ranks, so they stop waiting.</summary>
    protected virtual void OnFailed(string reason)
    {
    }

    /// <summary>Runs rank 0's delegate and checks what it returned.</summary>
    protected static byte[] CreatePayload(Func<byte[]> createPayload)
    {
        ArgumentNullException.ThrowIfNull(createPayload);
        byte[] payload = createPayload() ?? throw new InvalidOperationException("The rendezvous payload delegate returned null.");
        if (payload.Length > MaxPayloadBytes)
            throw new InvalidOperationException($"The rendezvous payload is {payload.Length} bytes; at most {MaxPayloadBytes} are carried.");
        return payload;
    }

    /// <summary>An <see cref="EpRendezvousException"/> that starts with "Rank N:" and carries this rendezvous' address.</summary>
    protected EpRendezvousException Failure(string what, bool timedOut, Exception? inner = null)
    {
        ArgumentNullException.ThrowIfNull(what);
        string end = what.EndsWith('.') || what.EndsWith('?') ? string.Empty : ".";
        return new(Rank, Address, $"Rank {Rank} of {WorldSize} (rendezvous {Address}): {what}{end}", timedOut, inner);
    }

    /// <summary>"00:00:30" as "30 s" for messages.</summary>
    protected static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    /// <summary>Releases files, sockets and listeners.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            Dispose(true);
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the rendezvous holds.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is not null)
            throw new EpRendezvousException(Rank, Address,
                $"Rank {Rank} of {WorldSize} (rendezvous {Address}): this rendezvous failed earlier and cannot be used again: {_failure.Message}", false, _failure);
    }

    private void Fail(Exception e)
    {
        _failure = e;
        Tell(e is EpRendezvousException ? e.Message : $"rank {Rank}: {e.Message}");
    }

    private void Tell(string reason)
    {
        try
        {
            OnFailed(reason);
        }
#pragma warning disable CA1031 // telling the others is best effort; the original failure is what the caller sees
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}

/// <summary>A world of one rank (from the environment without an address): nothing to meet.</summary>
internal sealed class LocalRendezvous : EpRendezvous
{
    public LocalRendezvous(TimeSpan timeout, int localRank) : base(0, 1, timeout, localRank) { }

    public override string Address => "local:";

    protected override byte[] ShareCore(Func<byte[]> createPayload) => CreatePayload(createPayload);

    protected override void BarrierCore() { }
}
