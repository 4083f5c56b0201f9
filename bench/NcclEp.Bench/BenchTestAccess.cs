using System.Runtime.CompilerServices;

// The chart and report writers, the option parsing and the byte accounting are tested in tests/NcclEp.PackageTests (Bench*Tests, SvgChartTests).
[assembly: InternalsVisibleTo("NcclEp.PackageTests")]
