using System;
using System.Globalization;
using System.Linq;
namespace NcclEp.InternodeModel;

/// <summary>The model's inputs: defaults are the document's; every one can be set on the command line.</summary>
public sealed record ModelOptions
{
    public int GpusPerNode { get; init; } = 8;
    public int[] Nodes { get; init; } = [2, 4, 8, 16];
    public Workload LowLatency { get; init; } = Workload.LowLatency;
    public Workload HighThroughput { get; init; } = Workload.HighThroughput;
    public Hardware Hardware { get; init; } = Hardware.Default;

    public const string Usage = """
        dotnet run --project tools/NcclEp.InternodeModel -c Release [-- options]
          --gpus-per-node 8     --nodes 2,4,8,16      --ll-tokens 128       --ht-tokens 4096
          --hidden 7168         --topk 8              --experts 256
          --net-gbps 46         --nvlink-gbps 300     --copy-gbps 1500
          --net-alpha-us 5      --net-msg-us 0.5      --gin-msg-us 0.1      --nvlink-alpha-us 2
          --launch-us 2         --host-sync-us 20
        """;

    /// <summary>Parses <c>--name value</c> pairs over the defaults; throws <see cref="ArgumentException"/> naming a bad one.</summary>
    public static ModelOptions Parse(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var o = new ModelOptions();
        for (int i = 0; i < args.Length; i += 2)
        {
            string name = args[i];
            if (i + 1 >= args.Length) throw new ArgumentException($"{name} needs a value.");
            string value = args[i + 1];
            Hardware hw = o.Hardware;
            o = name switch
            {
                "--gpus-per-node" => o with { GpusPerNode = Int(name, value) },
                "--nodes" => o with { Nodes = value.Split(',').Select(v => Int(name, v)).ToArray() },
                "--ll-tokens" => o with { LowLatency = o.LowLatency with { TokensPerRank = Int(name, value) } },
                "--ht-tokens" => o with { HighThroughput = o.HighThroughput with { TokensPerRank = Int(name, value) } },
                "--hidden" => Both(o, w => w with { Hidden = Int(name, value) }),
                "--topk" => Both(o, w => w with { TopK = Int(name, value) }),
                "--experts" => Both(o, w => w with { Experts = Int(name, value) }),
                "--net-gbps" => o with { Hardware = hw with { NetworkGBps = Real(name, value) } },
                "--nvlink-gbps" => o with { Hardware = hw with { NvlinkGBps = Real(name, value) } },
                "--copy-gbps" => o with { Hardware = hw with { LocalCopyGBps = Real(name, value) } },
                "--net-alpha-us" => o with { Hardware = hw with { NetworkLatencyUs = Real(name, value) } },
                "--net-msg-us" => o with { Hardware = hw with { NetworkMessageUs = Real(name, value) } },
                "--gin-msg-us" => o with { Hardware = hw with { GinMessageUs = Real(name, value) } },
                "--nvlink-alpha-us" => o with { Hardware = hw with { NvlinkLatencyUs = Real(name, value) } },
                "--launch-us" => o with { Hardware = hw with { KernelLaunchUs = Real(name, value) } },
                "--host-sync-us" => o with { Hardware = hw with { HostSyncUs = Real(name, value) } },
                _ => throw new ArgumentException($"Unknown option {name}."),
            };
        }
        return o;
    }

    private static ModelOptions Both(ModelOptions o, Func<Workload, Workload> change) =>
        o with { LowLatency = change(o.LowLatency), HighThroughput = change(o.HighThroughput) };

    private static int Int(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v > 0
            ? v : throw new ArgumentException($"{name}: '{value}' is not a positive integer.");

    private static double Real(string name, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= 0
            ? v : throw new ArgumentException($"{name}: '{value}' is not a non-negative number.");
}
