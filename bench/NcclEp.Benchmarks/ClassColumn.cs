using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace NcclEp.Benchmarks;

/// <summary>
/// The benchmark's class, first in every summary table. BenchmarkDotNet's own Type column hides itself when a
/// summary holds one class, so two summaries that both list Update/Dispatch/Combine would not say which is which.
/// </summary>
internal sealed class ClassColumn : IColumn
{
    public string Id => nameof(ClassColumn);

    public string ColumnName => "Class";

    public string Legend => "The benchmark class the row belongs to";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Job;

    public int PriorityInCategory => -10;

    public bool IsNumeric => false;

    public UnitType UnitType => UnitType.Dimensionless;

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => benchmarkCase.Descriptor.Type.Name;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public override string ToString() => ColumnName;
}
