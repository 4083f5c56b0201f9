using System;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace NcclEp.Distributed;

/// <summary>
/// The bodies of the joining frames (protocol version 2). A joining rank sends Hello (version, whether it has a
/// secret, its nonce); rank 0 answers Challenge (its nonce and, with a secret, its proof over both nonces); the rank
/// checks that proof before it says anything about itself, then sends Join (rank, world size and, with a secret, its
/// proof over both nonces and that claim). Rank 0 checks the proof, then the claim, and answers Welcome or Abort on
/// the (from then on authenticated) connection. A peer without the secret learns nothing about the job.
/// </summary>
internal static class TcpHandshake
{
    public const int Version = 2;
    public const int NonceBytes = 32;

    /// <summary>The largest frame body before a connection is authenticated (far below the payload limit: a stranger
    /// cannot make rank 0 allocate much).</summary>
    public const int MaxBodyBytes = 1024;

    public const int HelloBytes = 4 + 4 + NonceBytes;
    private const int HasSecretFlag = 1;

    public static byte[] NewNonce() => RandomNumberGenerator.GetBytes(NonceBytes);

    public static byte[] Hello(byte[] nonce, bool hasSecret)
    {
        var body = new byte[HelloBytes];
        BinaryPrimitives.WriteInt32LittleEndian(body, Version);
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(4), hasSecret ? HasSecretFlag : 0);
        nonce.CopyTo(body, 8);
        return body;
    }

    /// <summary>The version a hello announces (-1 if it is too short to say).</summary>
    public static int VersionOf(ReadOnlySpan<byte> hello) => hello.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(hello) : -1;

    /// <summary>Reads a version-2 hello; false if it is malformed.</summary>
    public static bool TryReadHello(ReadOnlySpan<byte> hello, out bool hasSecret, out byte[] nonce)
    {
        hasSecret = false;
        nonce = [];
        if (hello.Length != HelloBytes || VersionOf(hello) != Version) return false;
        int flags = BinaryPrimitives.ReadInt32LittleEndian(hello[4..]);
        if ((flags & ~HasSecretFlag) != 0) return false;
        hasSecret = flags == HasSecretFlag;
        nonce = hello.Slice(8, NonceBytes).ToArray();
        return true;
    }

    public static byte[] Challenge(byte[] rootNonce, byte[]? proof)
    {
        var body = new byte[NonceBytes + (proof?.Length ?? 0)];
        rootNonce.CopyTo(body, 0);
        proof?.CopyTo(body, NonceBytes);
        return body;
    }

    public static bool TryReadChallenge(ReadOnlySpan<byte> body, bool withProof, out byte[] rootNonce, out byte[] proof)
    {
        rootNonce = [];
        proof = [];
        if (body.Length != NonceBytes + (withProof ? RendezvousSecret.MacBytes : 0)) return false;
        rootNonce = body[..NonceBytes].ToArray();
        proof = body[NonceBytes..].ToArray();
        return true;
    }

    /// <summary>The claim a joining rank makes: its rank and world size (8 bytes, which its proof covers).</summary>
    public static byte[] Claim(int rank, int worldSize)
    {
        var claim = new byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(claim, rank);
        BinaryPrimitives.WriteInt32LittleEndian(claim.AsSpan(4), worldSize);
        return claim;
    }

    public static byte[] Join(byte[] claim, byte[]? proof)
    {
        var body = new byte[claim.Length + (proof?.Length ?? 0)];
        claim.CopyTo(body, 0);
        proof?.CopyTo(body, claim.Length);
        return body;
    }

    public static bool TryReadJoin(ReadOnlySpan<byte> body, bool withProof, out byte[] claim, out int rank, out int worldSize, out byte[] proof)
    {
        claim = [];
        proof = [];
        rank = worldSize = -1;
        if (body.Length != 8 + (withProof ? RendezvousSecret.MacBytes : 0)) return false;
        claim = body[..8].ToArray();
        rank = BinaryPrimitives.ReadInt32LittleEndian(body);
        worldSize = BinaryPrimitives.ReadInt32LittleEndian(body[4..]);
        proof = body[8..].ToArray();
        return true;
    }
}
