using BenchmarkDotNet.Attributes;

namespace NcclEp.Benchmarks;

/// <summary>
/// The three data-path calls on the Host backend with one rank (no peer thread): the host cost of a call plus
/// the Host backend's own work (its C# kernels copy and reduce the rows).
/// </summary>
[MemoryDiagnoser]
public class DataPathBenchmarks
{
    private DataPathSetup _setup = null!;

    [GlobalSetup]
    public void Setup() => _setup = new DataPathSetup(EpGroup.CreateHost(DataPathSetup.Config, 1)[0]);

    [GlobalCleanup]
    public void Cleanup() => _setup.Dispose();

    [Benchmark]
    public void Update() => _setup.Handle.Update(_setup.TopKIds, _setup.TopKWeights);

    [Benchmark]
    public void Dispatch() => _setup.Group.Dispatch(_setup.Handle, _setup.Tokens2D, _setup.Received);

    [Benchmark]
    public void Combine() => _setup.Group.Combine(_setup.Handle, _setup.Received, _setup.Combined);
}
