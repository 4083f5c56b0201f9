using System;
using NcclEp.Interop;

namespace NcclEp.Bench;

/// <summary>CUDA events around each phase on the rank's stream; read after the stream is synchronised.</summary>
internal sealed class CudaPhaseTimer : IPhaseTimer
{
    private const int Phases = 3;
    private readonly nint _context, _stream;
    private readonly nint[] _begin = new nint[Phases], _end = new nint[Phases];

    public CudaPhaseTimer(nint context, nint stream)
    {
        _context = context;
        _stream = stream;
        using CudaContextScope scope = CudaContextScope.Enter(context);
        for (int i = 0; i < Phases; i++)
        {
            Check.Cu(CudaDriver.cuEventCreate(out _begin[i], CuEventFlags.Default), "cuEventCreate");
            Check.Cu(CudaDriver.cuEventCreate(out _end[i], CuEventFlags.Default), "cuEventCreate");
        }
    }

    public void Begin(BenchPhase phase) => Check.Cu(CudaDriver.cuEventRecord(_begin[(int)phase], _stream), "cuEventRecord");

    public void End(BenchPhase phase) => Check.Cu(CudaDriver.cuEventRecord(_end[(int)phase], _stream), "cuEventRecord");

    public double ElapsedMicroseconds(BenchPhase phase)
    {
        using CudaContextScope scope = CudaContextScope.Enter(_context);
        Check.Cu(CudaDriver.cuEventElapsedTime_v2(out float ms, _begin[(int)phase], _end[(int)phase]), "cuEventElapsedTime_v2");
        return ms * 1000.0;
    }

    public void Dispose()
    {
        using CudaContextScope scope = CudaContextScope.TryEnter(_context, out _);
        for (int i = 0; i < Phases; i++)
        {
            _ = CudaDriver.cuEventDestroy_v2(_begin[i]);
            _ = CudaDriver.cuEventDestroy_v2(_end[i]);
        }
    }
}
