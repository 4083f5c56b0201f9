using BenchmarkDotNet.Attributes;

namespace NcclEp.Benchmarks;

/// <summary>
/// The same three calls through a backend that does nothing: what remains is the host cost of a call excluding
/// the work itself (the generated router's switch, the stub's descriptor checks, packing EpLaunchArgs).
/// </summary>
[MemoryDiagnoser]
public class StubOverheadBenchmarks
{
    private DataPathSetup _setup = null!;

    [GlobalSetup]
    public void Setup() => _setup = new DataPathSetup(NoOpBackend.CreateGroup(DataPathSetup.Config));

    [GlobalCleanup]
    public void Cleanup() => _setup.Dispose();

    [Benchmark]
    public void Update() => _setup.Handle.Update(_setup.TopKIds, _setup.TopKWeights);

    [Benchmark]
    public void Dispatch() => _setup.Group.Dispatch(_setup.Handle, _setup.Tokens2D, _setup.Received);

    [Benchmark]
    public void Combine() => _setup.Group.Combine(_setup.Handle, _setup.Received, _setup.Combined);
}
