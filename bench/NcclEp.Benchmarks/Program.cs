using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace NcclEp.Benchmarks;

/// <summary>
/// Host-overhead benchmarks of the data path (see bench/results/host-overhead.md), e.g.
/// <c>dotnet run -c Release --project bench/NcclEp.Benchmarks -- --filter '*' --job short</c>.
/// Every summary names its class (<see cref="ClassColumn"/>).
/// </summary>
public static class Program
{
    public static void Main(string[] args) =>
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, DefaultConfig.Instance.AddColumn(new ClassColumn()));
}
