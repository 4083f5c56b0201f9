using System;
using System.Security.Cryptography;
using System.Text;

namespace NcclEp.Distributed;

/// <summary>
/// The job secret as an HMAC-SHA256 key, and every value derived from it. Each use has its own label, so a proof made
/// for one purpose or direction (rank 0's, a joining rank's, a frame's, a file's) is never valid for another: a
/// reflected or replayed value fails.
/// </summary>
internal sealed class RendezvousSecret
{
    public const int MacBytes = 32;

    // Labels end in a zero byte so that no label is a prefix of another's message.
    private static readonly byte[] RootProofLabel = Label("ncclep rendezvous 2: rank 0 proves the secret");
    private static readonly byte[] RankProofLabel = Label("ncclep rendezvous 2: a joining rank proves the secret");
    private static readonly byte[] ToRankKeyLabel = Label("ncclep rendezvous 2: frames from rank 0");
    private static readonly byte[] ToRootKeyLabel = Label("ncclep rendezvous 2: frames to rank 0");
    private static readonly byte[] FileMacLabel = Label("ncclep rendezvous 2: file");
    private static readonly byte[] JobLabel = Label("ncclep rendezvous 2: job");

    private readonly byte[] _key;

    private RendezvousSecret(byte[] key) => _key = key;

    public static RendezvousSecret? From(string? secret) => secret is null ? null : new(Encoding.UTF8.GetBytes(secret));

    /// <summary>Rank 0's answer to a joining rank's challenge (its nonce), bound to rank 0's own nonce.</summary>
    public byte[] RootProof(ReadOnlySpan<byte> rankNonce, ReadOnlySpan<byte> rootNonce) => Labelled(RootProofLabel, rankNonce, rootNonce, []);

    /// <summary>A joining rank's answer, bound to both nonces and to the rank and world size it claims.</summary>
    public byte[] RankProof(ReadOnlySpan<byte> rankNonce, ReadOnlySpan<byte> rootNonce, ReadOnlySpan<byte> claim) => Labelled(RankProofLabel, rankNonce, rootNonce, claim);

    /// <summary>The key of the MACs on frames rank 0 sends on one connection.</summary>
    public byte[] ToRankKey(ReadOnlySpan<byte> rankNonce, ReadOnlySpan<byte> rootNonce) => Labelled(ToRankKeyLabel, rankNonce, rootNonce, []);

    /// <summary>The key of the MACs on frames a rank sends to rank 0 on one connection.</summary>
    public byte[] ToRootKey(ReadOnlySpan<byte> rankNonce, ReadOnlySpan<byte> rootNonce) => Labelled(ToRootKeyLabel, rankNonce, rootNonce, []);

    /// <summary>The MAC of a rendezvous file's content.</summary>
    public byte[] FileMac(ReadOnlySpan<byte> content) => Labelled(FileMacLabel, content, [], []);

    /// <summary>The job's tag: the same for every rank with this secret and job id, unguessable without the secret.</summary>
    public byte[] JobTag(string? jobId) => Labelled(JobLabel, Encoding.UTF8.GetBytes(jobId ?? string.Empty), [], []);

    /// <summary>The job's tag without a secret: a hash of the job id.</summary>
    public static byte[] PublicJobTag(string jobId)
    {
        byte[] id = Encoding.UTF8.GetBytes(jobId);
        var message = new byte[JobLabel.Length + id.Length];
        JobLabel.CopyTo(message, 0);
        id.CopyTo(message, JobLabel.Length);
        return SHA256.HashData(message);
    }

    /// <summary>Constant-time comparison of a MAC received with the one expected.</summary>
    public static bool Matches(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> received) =>
        expected.Length == received.Length && CryptographicOperations.FixedTimeEquals(expected, received);

    /// <summary>An HMAC keyed by <paramref name="key"/> (a per-connection key) over the parts.</summary>
    public static byte[] KeyedMac(byte[] key, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ReadOnlySpan<byte> c)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(a);
        hmac.AppendData(b);
        hmac.AppendData(c);
        return hmac.GetHashAndReset();
    }

    private byte[] Labelled(byte[] label, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ReadOnlySpan<byte> c)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
        hmac.AppendData(label);
        hmac.AppendData(a);
        hmac.AppendData(b);
        hmac.AppendData(c);
        return hmac.GetHashAndReset();
    }

    private static byte[] Label(string text) => Encoding.ASCII.GetBytes(text + "\0");
}
