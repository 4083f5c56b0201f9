using System;
using System.Globalization;
using System.Text;
using System.Threading;

namespace NcclEp.Distributed;

/// <summary>
/// Who may take part in a rendezvous: the job secret that every rank must prove, the job a file rendezvous belongs to,
/// and what to do without a secret. Give every rank the same options.
/// </summary>
/// <remarks>
/// <para>With a <see cref="Secret"/>, a TCP rendezvous is mutually authenticated (HMAC-SHA256 challenge and response
/// with fresh nonces both ways): a process without the secret gets neither a rank nor the payload, a rank other than 0
/// accepts the payload only from a rank 0 that proved the secret, and every later frame carries a MAC. A file
/// rendezvous keeps its files apart from other jobs' and checks a MAC on every record. The payload is not encrypted:
/// see the threat model in docs/multi-process.md.</para>
/// <para>Without a secret, anyone who can reach the address can claim a rank or pose as rank 0. A TCP rendezvous on
/// an address other than loopback then warns once (<see cref="OnWarning"/>), or refuses to start with
/// <see cref="RequireSecret"/>.</para>
/// </remarks>
public sealed record EpRendezvousOptions
{
    /// <summary>Environment variable with the job secret that <see cref="FromEnvironment()"/> reads.</summary>
    public const string SecretVariable = "NCCLEP_RENDEZVOUS_SECRET";

    /// <summary>Environment variable that, set to <c>1</c> (or <c>true</c>), sets <see cref="RequireSecret"/>.</summary>
    public const string RequireSecretVariable = "NCCLEP_RENDEZVOUS_REQUIRE_SECRET";

    /// <summary>Environment variable with a job id that <see cref="FromEnvironment()"/> prefers to the launchers' own.</summary>
    public const string JobVariable = "NCCLEP_RENDEZVOUS_JOB";

    /// <summary>The shortest secret accepted, in UTF-8 bytes.</summary>
    public const int MinSecretBytes = 16;

    /// <summary>The longest secret accepted, in UTF-8 bytes.</summary>
    public const int MaxSecretBytes = 4096;

    /// <summary>No secret, no job id, warnings to standard error.</summary>
    public static EpRendezvousOptions Default { get; } = new();

    /// <summary>
    /// The job secret every rank must know (at least <see cref="MinSecretBytes"/> bytes of UTF-8; use a random one per
    /// job, e.g. <c>openssl rand -hex 32</c>), or null for none. It is never sent, written or shown.
    /// </summary>
    public string? Secret { get; init; }

    /// <summary>Refuse to create a rendezvous of more than one rank without a <see cref="Secret"/>, instead of warning.</summary>
    public bool RequireSecret { get; init; }

    /// <summary>
    /// The job this rank belongs to (any text the ranks of one job share, e.g. the launcher's job id). A file
    /// rendezvous keeps each job's files apart (so two jobs given one path do not meet) and ignores records of other
    /// jobs; with a secret the job is also told apart by the secret. Null: the path alone names the job.
    /// </summary>
    public string? JobId { get; init; }

    /// <summary>
    /// Receives the warning about a rendezvous without a secret on a network address. Null: standard error, once per process.
    /// </summary>
    public Action<string>? OnWarning { get; init; }

    /// <summary>
    /// The options the environment describes: <see cref="Secret"/> from <c>NCCLEP_RENDEZVOUS_SECRET</c>,
    /// <see cref="RequireSecret"/> from <c>NCCLEP_RENDEZVOUS_REQUIRE_SECRET</c>, and <see cref="JobId"/> from
    /// <c>NCCLEP_RENDEZVOUS_JOB</c>, else the launcher's job (Slurm <c>SLURM_JOB_ID</c> and <c>SLURM_STEP_ID</c>,
    /// Open MPI / PMIx <c>PMIX_NAMESPACE</c> or <c>OMPI_MCA_ess_base_jobid</c>, torchrun <c>TORCHELASTIC_RUN_ID</c>
    /// and <c>TORCHELASTIC_RESTART_COUNT</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">A variable is malformed (the secret is too short); the message names it.</exception>
    public static EpRendezvousOptions FromEnvironment() => LauncherEnvironment.Options(Environment.GetEnvironmentVariable);

    private static int s_warned;

    /// <summary>What <see cref="object.ToString"/> shows: whether there is a secret, never the secret.</summary>
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"Secret = {(Secret is null ? "(none)" : "(set)")}, RequireSecret = {RequireSecret}, JobId = {JobId ?? "(none)"}");
        return true;
    }

    /// <summary>Gives <paramref name="message"/> to <see cref="OnWarning"/>, or writes it to standard error if this process has not yet.</summary>
    internal void Warn(string message)
    {
        if (OnWarning is not null) OnWarning(message);
        else if (Interlocked.Exchange(ref s_warned, 1) == 0) Console.Error.WriteLine(message);
    }

    /// <summary>Checks the options for a rendezvous of <paramref name="worldSize"/> ranks.</summary>
    internal void Validate(int worldSize)
    {
        if (Secret is not null)
        {
            int bytes = Encoding.UTF8.GetByteCount(Secret);
            if (bytes < MinSecretBytes || bytes > MaxSecretBytes)
                ThrowHelper.Argument("options", $"The rendezvous secret is {bytes} bytes; it must be {MinSecretBytes}..{MaxSecretBytes} (use a random one per job, e.g. openssl rand -hex 32).");
        }
        if (RequireSecret && Secret is null && worldSize > 1)
            ThrowHelper.Argument("options", $"This rendezvous has no secret and RequireSecret is set ({RequireSecretVariable}); give every rank the same secret ({SecretVariable} or EpRendezvousOptions.Secret).");
    }
}
