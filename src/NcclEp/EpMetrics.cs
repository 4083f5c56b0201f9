using System.Diagnostics.Metrics;

namespace NcclEp;

/// <summary>
/// The library's <see cref="System.Diagnostics.Metrics"/> instruments, on the meter named <see cref="MeterName"/>
/// (read them with dotnet-counters, OpenTelemetry or a <see cref="MeterListener"/>). They record rare control-path
/// events only; nothing on the data path records anything.
/// </summary>
internal static class EpMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "NcclEp";

    private static readonly Meter s_meter = new(MeterName);

    /// <summary>
    /// New streams for co-located ranks that shared a hardware work queue with another rank's stream and were replaced
    /// (<see cref="EpGroup.CreateStream"/>). Never seen so far; a count above zero says the driver assigns queues
    /// differently from what the runs found.
    /// </summary>
    public static readonly Counter<long> ColocatedStreamsReplaced = s_meter.CreateCounter<long>(
        "ncclep.colocated.streams_replaced", "{stream}", "New streams of co-located ranks that shared a hardware work queue and were replaced");

    /// <summary>Communicators the network watchdog aborted because an exchange with a network peer stayed pending past the time-out.</summary>
    public static readonly Counter<long> CommunicatorAborts = s_meter.CreateCounter<long>(
        "ncclep.network.communicator_aborts", "{communicator}", "NCCL communicators aborted by the network watchdog");

    /// <summary>How long ncclCommAbort took once the watchdog called it (an abort that never returns would hang its rank).</summary>
    public static readonly Histogram<double> CommunicatorAbortDuration = s_meter.CreateHistogram<double>(
        "ncclep.network.communicator_abort.duration", "s", "Time ncclCommAbort took when the network watchdog aborted a communicator");
}
