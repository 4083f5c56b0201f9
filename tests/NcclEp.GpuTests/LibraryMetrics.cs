using System;
using System.Diagnostics.Metrics;
using System.Threading;

namespace NcclEp.GpuTests;

/// <summary>
/// Listens to the library's meter (<c>NcclEp</c>, docs/failure-handling.md): keeps the count of replaced co-located
/// streams and hands every measurement to an optional callback (on the thread that recorded it).
/// </summary>
internal sealed class LibraryMetrics : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Action<string, double>? _measured;
    private long _streamsReplaced;

    public LibraryMetrics(Action<string, double>? measured = null)
    {
        _measured = measured;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == EpMetrics.MeterName) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => Record(instrument.Name, value));
        _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => Record(instrument.Name, value));
        _listener.Start();
    }

    /// <summary>New streams of co-located ranks that shared a hardware work queue and were replaced, while this listened.</summary>
    public long StreamsReplaced => Interlocked.Read(ref _streamsReplaced);

    private void Record(string instrument, double value)
    {
        if (instrument == EpMetrics.ColocatedStreamsReplaced.Name) Interlocked.Add(ref _streamsReplaced, (long)value);
        _measured?.Invoke(instrument, value);
    }

    public void Dispose() => _listener.Dispose();
}
