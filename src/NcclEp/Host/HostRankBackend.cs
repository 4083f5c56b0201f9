using System;
using System.Threading;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NcclEp.Backend;

namespace NcclEp.Host;

/// <summary>
/// One rank of the Host backend: the exact semantics of the GPU kernels in C#, on the same buffer
/// layouts, with flags and bounded waits in place of NVLink signals. It is the oracle the Cuda backend is
/// compared with bit for bit, so every arithmetic step here is the one the kernels do, and every flag is the one the
/// kernels release and wait for (docs/kernels.md, "Protocol and memory ordering"): tests that put Host ranks out of
/// step exercise the GPU's protocol.
/// </summary>
internal sealed unsafe partial class HostRankBackend : IEpRankBackend
{
    private readonly HostFabric _fabric;
    private readonly int _rank;
    private readonly WindowLayout _layout;
    private readonly byte* _window;
    private readonly byte** _peers;
    private readonly float* _accumulator;
    private readonly float* _partial;  // [hidden]: one per-rank combine partial (HostRankBackend.Partials.cs)
    private readonly int* _flatBase;  // [W + 1]: first Flat row of each source (combine route)
    private readonly int _worldSize, _localExperts, _topK, _maxTokens, _hidden, _numExperts;
    private readonly MessageChunks _chunks;
    private bool _disposed;

    public HostRankBackend(HostFabric fabric, int rank)
    {
        _fabric = fabric;
        _rank = rank;
        _layout = fabric.Layout;
        EpConfig c = fabric.Config;
        _worldSize = fabric.WorldSize;
        _localExperts = c.LocalExperts(_worldSize);
        _topK = c.TopK;
        _maxTokens = c.MaxTokensPerRank;
        _hidden = c.Hidden;
        _numExperts = c.NumExperts;
        _window = (byte*)fabric.Window(rank);
        _peers = (byte**)NativeMemory.Alloc((nuint)_worldSize, (nuint)sizeof(byte*));
        for (int r = 0; r < _worldSize; r++) _peers[r] = (byte*)fabric.Window(r);
        _accumulator = (float*)NativeMemory.AlignedAlloc((nuint)(_hidden * sizeof(float)), 64);
        _partial = (float*)NativeMemory.AlignedAlloc((nuint)(_hidden * sizeof(float)), 64);
        _flatBase = (int*)NativeMemory.Alloc((nuint)(_worldSize + 1), sizeof(int));
        _chunks = new MessageChunks(c.Mode);
    }

    public EpBackendKind Kind => EpBackendKind.Host;

    /// <summary>This rank's window (zero-copy receive: the rank-major rows are its messages).</summary>
    internal nint WindowBase => (nint)_window;

    /// <summary>The fabric this rank belongs to (tests set its <see cref="HostFabric.PhaseHook"/>).</summary>
    internal HostFabric Fabric => _fabric;

    private int* ActiveMask => (int*)(_window + WindowControl.ActiveMask);

    private uint* DispatchSequence => (uint*)(_window + WindowControl.DispatchSequence);

    private uint* CombineSequence => (uint*)(_window + WindowControl.CombineSequence);

    private long Deadline => Stopwatch.GetTimestamp() + _fabric.TimeoutTicks;

    private int* MaskedBy => (int*)(_window + WindowControl.MaskedBy);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Phase(HostPhase phase)
    {
        HostPhaseHook? hook = _fabric.PhaseHook;
        if (hook is not null) hook(_rank, phase);
    }

    /// <summary>Every data-path call starts here: a rank that a survivor masked writes nothing and raises EpRankMaskedException.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void BeginCall()
    {
        Phase(HostPhase.CallStart);
        int maskedBy = Volatile.Read(ref *MaskedBy);
        if (maskedBy != 0) ThrowHelper.Masked(_rank, maskedBy - 1);
    }

    public EpBuffer Allocate(long bytes) => new HostBuffer(bytes);

    /// <summary>"Device" memory is this process's native memory: a plain copy.</summary>
    public void CopyToHost(nint source, Span<byte> destination) =>
        new ReadOnlySpan<byte>((void*)source, destination.Length).CopyTo(destination);

    /// <summary>
    /// Marks every newly masked peer as masked by this rank (so its late calls write nothing), writes the mask and
    /// makes this call a recovery point: the rank's dispatch and combine sequence restart at 0 and the flags peers left
    /// in its window are cleared, so survivors that got different distances into a failed round are in step again
    /// (docs/failure-handling.md: every live rank calls it between two barriers).
    /// </summary>
    public void SetActiveRanks(ReadOnlySpan<bool> active)
    {
        int maskedBy = Volatile.Read(ref *MaskedBy);
        if (maskedBy != 0) ThrowHelper.Masked(_rank, maskedBy - 1);
        for (int r = 0; r < _worldSize; r++)
        {
            if (!active[r] && ActiveMask[r] != 0) Volatile.Write(ref *(int*)(_peers[r] + WindowControl.MaskedBy), _rank + 1);
        }
        for (int r = 0; r < _worldSize; r++) Volatile.Write(ref ActiveMask[r], active[r] ? 1 : 0);
        new Span<byte>(_window + _layout.DispatchFlags, (int)(_layout.ExpertCounts - _layout.DispatchFlags)).Clear();
        Volatile.Write(ref *DispatchSequence, 0u);
        Volatile.Write(ref *CombineSequence, 0u);
        Interlocked.MemoryBarrier();
    }

    public void CheckErrors()
    {
        int* error = (int*)(_window + WindowControl.Error);
        if (error[0] == 0) return;
        int peer = error[1], phase = error[2];
        uint sequence = (uint)error[3];
        error[0] = 0;
        ThrowHelper.Timeout(_rank, peer, (EpPhase)phase, sequence, _fabric.Timeout);
    }

    public void Synchronize(EpStream stream)
    {
        // Host calls complete before they return.
    }

    /// <summary>Records the failed wait where the GPU kernels would, then raises it.</summary>
    private void FailWait(int peer, EpPhase phase, uint sequence)
    {
        int* error = (int*)(_window + WindowControl.Error);
        error[1] = peer;
        error[2] = (int)phase;
        error[3] = (int)sequence;
        Volatile.Write(ref error[0], 1);
        CheckErrors();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        NativeMemory.Free(_peers);
        NativeMemory.AlignedFree(_accumulator);
        NativeMemory.AlignedFree(_partial);
        NativeMemory.Free(_flatBase);
        _fabric.ReleaseRank();
    }
}
