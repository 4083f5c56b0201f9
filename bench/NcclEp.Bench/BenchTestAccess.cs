using System.Runtime.CompilerServices;

// The chart writers (SvgChart, ChartData, TerminalChart) are tested in tests/NcclEp.PackageTests.
[assembly: InternalsVisibleTo("NcclEp.PackageTests")]
