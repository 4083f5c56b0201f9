using System;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using NcclEp.Views;

namespace NcclEp.Benchmarks;

/// <summary>
/// The generated views: building one from a descriptor, and one indexer or Row access (each benchmark makes
/// <see cref="Accesses"/> accesses, so the figures are per access).
/// </summary>
[MemoryDiagnoser]
public unsafe class ViewBenchmarks
{
    private const int Accesses = 1024;
    private const int Experts = 8, Capacity = 16, Hidden = 7168, Rows = 128, TopK = 8;

    private nint _tokens, _ints, _floats, _info;
    private EpTensor _expertMajor, _flat, _ids, _weights, _sources, _counts;

    [GlobalSetup]
    public void Setup()
    {
        long tokenBytes = (long)Experts * Capacity * Hidden * 2;
        _tokens = Alloc(tokenBytes);
        _ints = Alloc(Rows * TopK * 4);
        _floats = Alloc(Rows * TopK * 4);
        _info = Alloc(Rows * 3 * 4);
        _expertMajor = EpTensor.Create3D(_tokens, EpDataType.BFloat16, Experts, Capacity, Hidden);
        _flat = EpTensor.Create2D(_tokens, EpDataType.BFloat16, Experts * Capacity, Hidden);
        _ids = EpTensor.Create2D(_ints, EpDataType.Int32, Rows, TopK);
        _weights = EpTensor.Create2D(_floats, EpDataType.Float32, Rows, TopK);
        _sources = EpTensor.Create2D(_info, EpDataType.Int32, Rows, 3);
        _counts = EpTensor.Create1D(_ints, EpDataType.Int32, Rows);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree((void*)_tokens);
        NativeMemory.AlignedFree((void*)_ints);
        NativeMemory.AlignedFree((void*)_floats);
        NativeMemory.AlignedFree((void*)_info);
    }

    [Benchmark]
    public int ExpertMajorTokens_construct() => new ExpertMajorTokens<BFloat16>(_expertMajor).Capacity;

    [Benchmark(OperationsPerInvoke = Accesses)]
    public int ExpertMajorTokens_indexer()
    {
        var view = new ExpertMajorTokens<BFloat16>(_expertMajor);
        int sum = 0;
        for (int i = 0; i < Accesses; i++) sum += view[i & (Experts - 1), i & (Capacity - 1), i].Bits;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public int ExpertMajorTokens_row()
    {
        var view = new ExpertMajorTokens<BFloat16>(_expertMajor);
        int sum = 0;
        for (int i = 0; i < Accesses; i++) sum += view.Row(i & (Experts - 1), i & (Capacity - 1))[i].Bits;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public int FlatTokens_indexer()
    {
        var view = new FlatTokens<BFloat16>(_flat);
        int sum = 0;
        for (int i = 0; i < Accesses; i++) sum += view[i & (Rows - 1), i].Bits;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public int TopKIdRows_indexer()
    {
        var view = new TopKIdRows(_ids);
        int sum = 0;
        for (int i = 0; i < Accesses; i++) sum += view[i & (Rows - 1), i & (TopK - 1)];
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public float TopKWeightRows_indexer()
    {
        var view = new TopKWeightRows(_weights);
        float sum = 0;
        for (int i = 0; i < Accesses; i++) sum += view[i & (Rows - 1), i & (TopK - 1)];
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public int SourceInfoRows_indexer()
    {
        var view = new SourceInfoRows(_sources);
        int sum = 0;
        for (int i = 0; i < Accesses; i++) sum += view[i & (Rows - 1)].Token;
        return sum;
    }

    [Benchmark(OperationsPerInvoke = Accesses)]
    public int Counts_indexer()
    {
        var view = new Counts(_counts);
        int sum = 0;
        for (int i = 0; i < Accesses; i++) sum += view[i & (Rows - 1)];
        return sum;
    }

    private static nint Alloc(long bytes)
    {
        void* p = NativeMemory.AlignedAlloc((nuint)bytes, 128);
        NativeMemory.Clear(p, (nuint)bytes);
        return (nint)p;
    }
}
