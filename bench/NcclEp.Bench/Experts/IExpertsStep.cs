namespace NcclEp.Bench;

/// <summary>The untimed experts between dispatch and combine: on the host (<see cref="HostExpertsStep"/>) or on the GPU (<see cref="GpuExpertsStep"/>).</summary>
internal interface IExpertsStep
{
    /// <summary>Turns the dispatch output into the expert outputs the combine reads.</summary>
    void Run();
}
