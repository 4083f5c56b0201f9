using System;
using System.Linq;
using NcclEp.Testing;
using NcclEp.Tests.Infrastructure;
using NcclEp.Tests.Protocol;
using Xunit;
using Xunit.Sdk;

namespace NcclEp.Tests.HandleMemory;

/// <summary>
/// A handle in caller-owned memory is the same handle (issue 22, item 4): on every rank, two handles placed side by side
/// in one caller buffer (prefilled with garbage, guard bytes around them) and an owned handle run the same rounds, and
/// every output, the handles' metadata included, is bit-identical across the three and matches the reference.
/// </summary>
public sealed class CallerMemoryRoundTripTests(RankThreadPool pool) : IClassFixture<RankThreadPool>
{
    private const byte Garbage = 0xC3;

    public static TheoryData<EpMode, EpLayout, EpDataType, int> Kinds() => new()
    {
        { EpMode.LowLatency, EpLayout.ExpertMajor, EpDataType.BFloat16, 1 },
        { EpMode.LowLatency, EpLayout.RankMajor, EpDataType.Float32, 1 },
        { EpMode.HighThroughput, EpLayout.Flat, EpDataType.BFloat16, 1 },
        { EpMode.HighThroughput, EpLayout.ExpertMajor, EpDataType.BFloat16, 4 },
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Handles_in_one_caller_buffer_give_bit_identical_results_to_an_owned_handle_and_write_nothing_outside_their_bytes(EpMode mode, EpLayout layout, EpDataType type, int alignment)
    {
        const int World = 3, Rounds = 3;
        int seed = CaseGenerator.Seed(22, 4, (int)mode, (int)layout);
        EpConfig config = CaseGenerator.Config(new Random(seed), mode, layout, type, alignment, World);
        bool[] live = Enumerable.Repeat(true, World).ToArray();
        RankBatch[][] batches = Enumerable.Range(0, Rounds)
            .Select(round => Enumerable.Range(0, World).Select(r => CaseGenerator.Batch(new Random(CaseGenerator.Seed(seed, round, r)), config, World)).ToArray())
            .ToArray();

        EpGroup[] groups = EpGroup.CreateHost(config, World);
        try
        {
            pool.For(World).Run(rank =>
            {
                EpGroup g = groups[rank];
                long bytes = g.HandleBytes, guard = EpGroup.HandleAlignment;
                long first = guard, second = first + bytes + guard;  // [guard][handle A][guard][handle B][guard]
                using EpBuffer memory = g.AllocateBuffer(second + bytes + guard);
                memory.Fill(Garbage);
                using var owned = new ProtocolRank(g);
                using var inA = new ProtocolRank(g, group => group.CreateHandle(memory, first));
                using var inB = new ProtocolRank(g, group => group.CreateHandle(memory.Pointer + (nint)second, bytes));
                ProtocolRank[] all = [owned, inA, inB];
                for (int round = 0; round < Rounds; round++)
                {
                    foreach (ProtocolRank r in all)
                    {
                        r.Load(batches[round][rank]);
                        r.Update();
                        r.Dispatch();
                        r.CheckDispatch(new ReferenceModel(config, World, batches[round], live).Receive(rank), batches[round]);
                    }
                    SameOutputs(all, $"round {round} dispatch");
                    foreach (ProtocolRank r in all)
                    {
                        r.Combine(op: round);
                        r.CheckHome($"round {round} combine", ProtocolExpected.Combined(config, World, batches[round], live, rank, round, weighted: true));
                    }
                    SameOutputs(all, $"round {round} combine");
                    foreach (ProtocolRank r in all) r.DispatchBackward(op: round + 100);
                    SameOutputs(all, $"round {round} dispatch backward");
                    AssertGuards(memory, [(0, first), (first + bytes, second), (second + bytes, memory.Bytes)]);
                }
            }, TimeSpan.FromMinutes(2));
        }
        finally
        {
            foreach (EpGroup g in groups) g.Dispose();
        }
    }

    private static void SameOutputs(ProtocolRank[] ranks, string what)
    {
        byte[] reference = ranks[0].Outputs();
        for (int i = 1; i < ranks.Length; i++)
        {
            byte[] got = ranks[i].Outputs();
            int differs = reference.AsSpan().CommonPrefixLength(got);
            if (differs < reference.Length || got.Length != reference.Length)
                throw new XunitException($"rank {ranks[i].Rank}, {what}: the handle in caller memory ({i}) differs from the owned one at output byte {differs}");
        }
    }

    private static void AssertGuards(EpBuffer memory, (long Begin, long End)[] guards)
    {
        var bytes = new byte[memory.Bytes];
        memory.Download<byte>(bytes);
        foreach ((long begin, long end) in guards)
        {
            int written = bytes.AsSpan((int)begin, (int)(end - begin)).IndexOfAnyExcept(Garbage);
            if (written >= 0) throw new XunitException($"byte {begin + written} of the caller's buffer, outside every handle, was written");
        }
    }
}
