using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using NcclEp.Backend;
using NcclEp.Cuda;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// The kernels' parameter block is declared twice: <c>struct EpParams</c> in ep_common.cuh and
/// <see cref="CudaKernelParams"/> in C#. Without a GPU nothing else would notice the two drifting apart, so the
/// header is parsed here and compared field by field (order, name, size) with the C# struct.
/// </summary>
public sealed class KernelParamsMirrorTests
{
    [Fact]
    public void Header_fields_match_the_csharp_struct_in_order_and_size()
    {
        List<(string Name, int Size)> header = HeaderFields();
        FieldInfo[] fields = typeof(CudaKernelParams).GetFields(BindingFlags.Instance | BindingFlags.Public)
            .OrderBy(f => Marshal.OffsetOf<CudaKernelParams>(f.Name).ToInt64()).ToArray();

        Assert.Equal(header.Count, fields.Length);
        for (int i = 0; i < header.Count; i++)
        {
            Assert.Equal(header[i].Name, fields[i].Name, StringComparer.OrdinalIgnoreCase);
            Assert.Equal(header[i].Size, CSharpSize(fields[i]));
        }
        Assert.Equal(header.Sum(f => f.Size), Marshal.SizeOf<CudaKernelParams>());
    }

    [Fact]
    public void Chunk_count_matches_the_window_layout()
    {
        Match chunks = Regex.Match(KernelSource.Text, @"#define NCCLEP_CHUNKS (\d+)");
        Assert.True(chunks.Success, "NCCLEP_CHUNKS is not defined in the kernel source");
        Assert.Equal(WindowLayout.Chunks, int.Parse(chunks.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Update_tile_matches_the_handle_layout()
    {
        Match tile = Regex.Match(KernelSource.Text, @"#define TILE_TOKENS (\d+)");
        Assert.True(tile.Success, "TILE_TOKENS is not defined in the kernel source");
        Assert.Equal(HandleLayout.UpdateTileTokens, int.Parse(tile.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains(CudaKernelModule.UpdateOffsetsEntryPoint, KernelSource.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Message_header_size_matches_the_window_layout()
    {
        Match header = Regex.Match(KernelSource.Text, @"#define HEADER_BYTES \(\(\(16 \+ 12 \* NCCLEP_TOPK\) \+ (\d+)\) / (\d+) \* (\d+)\)");
        Assert.True(header.Success, "HEADER_BYTES is not defined in the kernel source as roundUp(16 + 12 * K, align)");
        int align = int.Parse(header.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(WindowLayout.MessageAlign, align);
        Assert.Equal(align - 1, int.Parse(header.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(align, int.Parse(header.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("CTRL_DISPATCH_SEQ", WindowControl.DispatchSequence)]
    [InlineData("CTRL_COMBINE_SEQ", WindowControl.CombineSequence)]
    [InlineData("CTRL_TICKETS", WindowControl.Tickets)]
    [InlineData("CTRL_ACTIVE_MASK", WindowControl.ActiveMask)]
    [InlineData("CTRL_ROUTE_READY", WindowControl.RouteReady)]
    public void Control_block_offsets_match_the_window_layout(string define, int offset)
    {
        Match match = Regex.Match(KernelSource.Text, $@"#define {define} (\d+)");
        Assert.True(match.Success, $"{define} is not defined in the kernel source");
        Assert.Equal(offset, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Route_flag_matches_the_backend_and_is_a_bit_of_its_own()
    {
        Match route = Regex.Match(KernelSource.Text, @"#define FLAG_ROUTE (\d+)");
        Assert.True(route.Success, "FLAG_ROUTE is not defined in the kernel source");
        Assert.Equal(CudaRankBackend.RouteFlag, int.Parse(route.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        foreach (string other in new[] { "FLAG_SCALE_BY_WEIGHT", "FLAG_ROWS_IN_WINDOW" })
        {
            Match m = Regex.Match(KernelSource.Text, $@"#define {other} (\d+)");
            Assert.True(m.Success, $"{other} is not defined in the kernel source");
            Assert.Equal(0, CudaRankBackend.RouteFlag & int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void Set_active_ranks_clears_the_route_ready_word_with_the_sequences()
    {
        // SetActiveRanks clears SequenceWords u32 from DispatchSequence: both sequences and the ready word, and nothing
        // of the grid tickets after them.
        long cleared = WindowControl.DispatchSequence + (CudaRankBackend.SequenceWords * sizeof(uint));
        foreach (int word in new[] { WindowControl.DispatchSequence, WindowControl.CombineSequence, WindowControl.RouteReady })
            Assert.True(word >= WindowControl.DispatchSequence && word + sizeof(uint) <= cleared, $"control word {word} is not cleared");
        Assert.True(cleared <= WindowControl.Tickets, "SetActiveRanks would clear the grid tickets");
    }

    [Theory]
    [InlineData(1, 512)]
    [InlineData(8, 7168)]
    [InlineData(9, 1152)]
    [InlineData(22, 2048)]
    [InlineData(32, 16384)]
    public void Every_message_row_starts_on_a_128_byte_line(int topK, int hidden)
    {
        var config = new EpConfig(EpMode.LowLatency, 64, hidden, topK, 5, EpLayout.ExpertMajor);
        var layout = new WindowLayout(config, worldSize: 4);
        Assert.True(layout.HeaderBytes >= 16 + (12 * topK), "the header must hold the token word, 3 reserved words and K ids, weights and slot positions");
        for (int parity = 0; parity < 2; parity++)
            for (int source = 0; source < 4; source++)
                for (int slot = 0; slot < 5; slot++)
                    Assert.Equal(0, (layout.Message(parity, source, slot) + layout.HeaderBytes) % WindowLayout.MessageAlign);
    }

    private static List<(string Name, int Size)> HeaderFields()
    {
        string text = KernelSource.Text;
        int start = text.IndexOf("struct EpParams {", StringComparison.Ordinal);
        Assert.True(start >= 0, "struct EpParams not found in the kernel source");
        int end = text.IndexOf("};", start, StringComparison.Ordinal);
        string body = text[(start + "struct EpParams {".Length)..end];

        var fields = new List<(string, int)>();
        foreach (string rawLine in body.Split('\n'))
        {
            string line = rawLine.Split("//")[0].Trim();
            if (line.Length == 0) continue;
            Match m = Regex.Match(line, @"^(const\s+)?(\w+)\s*(\*?)\s*(.+);$");
            Assert.True(m.Success, $"cannot parse EpParams line '{line}'");
            int elementSize = m.Groups[3].Value == "*" ? 8 : TypeSize(m.Groups[2].Value);
            foreach (string declarator in m.Groups[4].Value.Split(','))
            {
                string d = declarator.Trim().TrimStart('*');
                Match array = Regex.Match(d, @"^(\w+)\[(\w+)\]$");
                if (array.Success) fields.Add((array.Groups[1].Value, elementSize * CudaKernelParams.MaxWorld));
                else fields.Add((d, elementSize));
            }
        }
        return fields;
    }

    private static int TypeSize(string type) => type switch
    {
        "int" or "float" or "u32" => 4,
        "i64" or "u64" => 8,
        _ => throw new InvalidOperationException($"unknown type '{type}' in EpParams"),
    };

    private static int CSharpSize(FieldInfo field)
    {
        FixedBufferAttribute? buffer = field.GetCustomAttribute<FixedBufferAttribute>();
        return buffer is not null ? Marshal.SizeOf(buffer.ElementType) * buffer.Length : Marshal.SizeOf(field.FieldType);
    }
}
