using System.Collections.Generic;
using System.Text.Json;

namespace NcclEp.Bench;

/// <summary>
/// The <c>--timeline</c> figures of one result in the <c>--json</c> output, under <c>timeline</c> (null where not run):
/// the method, then per rank its kernels by name, each with its roles by name, and the gaps between consecutive kernels.
/// </summary>
internal static class TimelineJson
{
    public static void Write(Utf8JsonWriter w, IReadOnlyList<OperationTimeline>? ranks)
    {
        if (ranks is null)
        {
            w.WriteNull("timeline");
            return;
        }
        w.WriteStartObject("timeline");
        w.WriteString("method", BlockTimelineProbe.Method);
        w.WriteStartArray("ranks");
        foreach (OperationTimeline rank in ranks)
        {
            w.WriteStartObject();
            w.WriteNumber("rank", rank.Rank);
            w.WriteStartObject("kernels");
            foreach (KernelTimeline kernel in rank.Kernels) WriteKernel(w, kernel);
            w.WriteEndObject();
            w.WriteStartArray("gaps");
            foreach (KernelGap gap in rank.Gaps)
            {
                w.WriteStartObject();
                w.WriteString("from", gap.From);
                w.WriteString("to", gap.To);
                JsonReport.NumberOrNull(w, "us", gap.Us);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteKernel(Utf8JsonWriter w, KernelTimeline kernel)
    {
        w.WriteStartObject(kernel.Name);
        w.WriteNumber("seq", kernel.Seq);
        JsonReport.NumberOrNull(w, "start_us", kernel.StartUs);
        JsonReport.NumberOrNull(w, "end_us", kernel.EndUs);
        w.WriteStartObject("roles");
        foreach (RoleTimeline role in kernel.Roles)
        {
            w.WriteStartObject(role.Role);
            w.WriteNumber("blocks", role.Blocks);
            w.WriteNumber("not_ended", role.NotEnded);
            JsonReport.NumberOrNull(w, "first_start_us", role.FirstStartUs);
            JsonReport.NumberOrNull(w, "last_start_us", role.LastStartUs);
            JsonReport.NumberOrNull(w, "first_end_us", role.FirstEndUs);
            JsonReport.NumberOrNull(w, "last_end_us", role.LastEndUs);
            JsonReport.NumberOrNull(w, "median_block_us", role.MedianBlockUs);
            bool any = role.SlowestBlock >= 0;  // no block of the role ended: no slowest one
            JsonReport.NumberOrNull(w, "slowest_block", any ? role.SlowestBlock : double.NaN);
            JsonReport.NumberOrNull(w, "slowest_block_sm", any ? role.SlowestSm : double.NaN);
            JsonReport.NumberOrNull(w, "slowest_block_us", role.SlowestBlockUs);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
