namespace NcclEp.Interop;

/// <summary>What <see cref="NcclLsa.Inspect(nint, nint, nint, nint)"/> found for one window on this rank.</summary>
/// <param name="LsaRank">This rank's index in the LSA team.</param>
/// <param name="LsaSize">How many ranks the LSA team has (peer i is world rank <c>WorldRank - LsaRank + i</c>).</param>
/// <param name="WorldRank">This rank in the communicator.</param>
/// <param name="PeerPointers">Device address of the window's first byte on each LSA peer, indexed by LSA rank, valid in this process.</param>
/// <param name="Route">How the addresses were obtained (which NCCL interface), for logs.</param>
internal sealed record NcclLsaWindow(int LsaRank, int LsaSize, int WorldRank, nint[] PeerPointers, string Route);
