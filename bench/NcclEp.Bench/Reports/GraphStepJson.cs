using System.Text.Json;

namespace NcclEp.Bench;

/// <summary>
/// The <c>--graph-step</c> figures of one result in the <c>--json</c> output, under <c>graph_step</c> (null where not run):
/// the method, the routing, per replay the median and p90 µs (slowest rank), back-to-back µs per step, the replays, the
/// graph's nodes, the bytes the replays allocated and the check of the last replay.
/// </summary>
internal static class GraphStepJson
{
    public static void Write(Utf8JsonWriter w, SizeResult r)
    {
        if (r.GraphStep is not { } g)
        {
            w.WriteNull("graph_step");
            return;
        }
        w.WriteStartObject("graph_step");
        w.WriteString("method", GraphStepProbe.Method);
        w.WriteString("routing", BenchNames.Routing(r.RoutingInDispatch));
        JsonReport.NumberOrNull(w, "median_us", g.Replay.MedianUs);
        JsonReport.NumberOrNull(w, "p90_us", g.Replay.P90Us);
        JsonReport.NumberOrNull(w, "back_to_back_us", g.BackToBackUs);
        w.WriteNumber("replays", g.Replays);
        w.WriteNumber("nodes", g.Nodes);
        w.WriteNumber("replay_allocated_bytes", g.AllocatedBytes);
        w.WriteString("last_replay", g.Passed ? "passed" : "failed");
        if (g.Mismatch is not null) w.WriteString("first_mismatch", g.Mismatch);
        w.WriteEndObject();
    }
}
