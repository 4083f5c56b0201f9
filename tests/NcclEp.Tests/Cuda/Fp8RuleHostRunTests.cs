using System;
using System.IO;
using System.Runtime.InteropServices;
using NcclEp.Cuda;
using Xunit;

namespace NcclEp.Tests.Cuda;

/// <summary>
/// The kernels' FP8 rule (ep_fp8_rule.cuh, as embedded in NcclEp.dll) compiled by g++ against the host shim, whose fp32
/// bit casts and arithmetic are the IEEE ones the GPU's __fdiv_rn, __fmul_rn and __float2int_rn give (round to nearest
/// even, subnormals kept: NVRTC's default -ftz=false, no fast math), and run over millions of values beside the library's
/// own rule (the Host backend's): the E4M3 conversion, the scale of every recipe, the amax, and the quotient — which for
/// power-of-two scales the kernels compute as a product with the exact reciprocal, so this also checks that that product
/// is the correctly rounded quotient. No GPU is needed; what only a GPU can show (the warp's lanes and shuffles) is
/// checked bit for bit against the Host backend by the GPU test program (--suite fp8).
/// </summary>
public sealed class Fp8RuleHostRunTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "ncclep-fp8-rule-" + Guid.NewGuid().ToString("N"));

    public Fp8RuleHostRunTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private const string Harness = """
        #include "cuda_host_shim.h"
        #include "ep_fp8_rule.cuh"
        #include <cstdio>
        #include <vector>
        // mode e: x -> E4M3 code; s: amax bits -> scale bits; q: (x, scale) -> E4M3 code of the quotient; a: (amax, x) -> amax
        int main(int argc, char** argv) {
            FILE* in = std::fopen(argv[2], "rb"); FILE* out = std::fopen(argv[3], "wb");
            std::vector<u32> v;
            u32 word;
            while (std::fread(&word, 4, 1, in) == 1) v.push_back(word);
            const char mode = argv[1][0];
            const size_t step = mode == 'q' || mode == 'a' ? 2 : 1;
            for (size_t i = 0; i + step <= v.size(); i += step) {
                const float x = __uint_as_float(v[i]);
                u32 r = mode == 'e' ? f32_to_e4m3(x)
                      : mode == 's' ? __float_as_uint(fp8_scale(v[i]))
                      : mode == 'q' ? f32_to_e4m3(fp8_quotient(x, __uint_as_float(v[i + 1])))
                      : fp8_amax(v[i], __uint_as_float(v[i + 1]));
                std::fwrite(&r, 4, 1, out);
            }
            std::fclose(in); std::fclose(out);
            return 0;
        }
        """;

    [GxxTheory]
    [InlineData(EpDispatchQuantization.Float8E4M3)]
    [InlineData(EpDispatchQuantization.Float8E4M3PowerOfTwo)]
    [InlineData(EpDispatchQuantization.Float8E4M3UE8M0)]
    public void The_kernels_rule_run_on_the_host_matches_the_librarys_bit_for_bit(EpDispatchQuantization recipe)
    {
        string program = Build(recipe);
        var random = new Random((int)recipe);

        // E4M3 codes: every bf16 value, a stride through all fp32 bit patterns, and random ones.
        uint[] xs = new uint[65536 + 1_048_576 + 500_000];
        int n = 0;
        for (uint b = 0; b < 65536; b++) xs[n++] = b << 16;
        for (uint b = 0; b < 1_048_576; b++) xs[n++] = (b << 12) | (uint)random.Next(4096);
        while (n < xs.Length) xs[n++] = (uint)random.Next(int.MinValue, int.MaxValue);
        Compare(program, 'e', xs, 1, i => Float8E4M3.RoundBits(BitConverter.UInt32BitsToSingle(xs[i])), "E4M3 code");

        // Scales: every finite non-negative bf16 amax and random finite ones.
        uint[] amaxes = new uint[0x7F80 + 500_000];
        n = 0;
        for (uint b = 0; b < 0x7F80; b++) amaxes[n++] = b << 16;
        while (n < amaxes.Length) amaxes[n++] = (uint)random.Next(0x7F80_0000);
        Compare(program, 's', amaxes, 1, i => BitConverter.SingleToUInt32Bits(EpQuantization.ScaleOf(amaxes[i], recipe)), "scale");

        // Quotients: x of every kind against scales of this recipe, from the smallest to the largest.
        uint[] pairs = new uint[2 * 1_000_000];
        for (int i = 0; i < pairs.Length; i += 2)
        {
            pairs[i] = (uint)random.Next(int.MinValue, int.MaxValue);
            pairs[i + 1] = BitConverter.SingleToUInt32Bits(EpQuantization.ScaleOf((uint)random.Next(0x7F80_0000), recipe));
        }
        Compare(program, 'q', pairs, 2,
            i => Float8E4M3.RoundBits(BitConverter.UInt32BitsToSingle(pairs[2 * i]) / BitConverter.UInt32BitsToSingle(pairs[(2 * i) + 1])), "quotient's code");

        // The amax: only finite magnitudes count.
        uint[] running = new uint[2 * 200_000];
        for (int i = 0; i < running.Length; i += 2)
        {
            running[i] = (uint)random.Next(0x7F80_0000);
            running[i + 1] = (uint)random.Next(int.MinValue, int.MaxValue);
        }
        Compare(program, 'a', running, 2, i => EpQuantization.AbsMaxBits(running[2 * i], BitConverter.UInt32BitsToSingle(running[(2 * i) + 1])), "amax");
    }

    private string Build(EpDispatchQuantization recipe)
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Cuda", "cuda_host_shim.h"), Path.Combine(_folder, "cuda_host_shim.h"), overwrite: true);
        using (Stream rule = typeof(KernelSource).Assembly.GetManifestResourceStream("NcclEp.Kernels.ep_fp8_rule.cuh")!)
        using (FileStream file = File.Create(Path.Combine(_folder, "ep_fp8_rule.cuh")))
            rule.CopyTo(file);
        string source = Path.Combine(_folder, "harness.cpp"), program = Path.Combine(_folder, $"rule{(int)recipe}");
        File.WriteAllText(source, Harness);
        string arguments = $"-std=c++17 -O2 -ffp-contract=off -fno-fast-math -DNCCLEP_QUANT={(int)recipe} -I \"{_folder}\" -o \"{program}\" \"{source}\"";
        (int exit, string errors) = KernelSyntaxTests.Run("g++", arguments);
        Assert.True(exit == 0, $"g++ {arguments}\n{errors}");
        return program;
    }

    private void Compare(string program, char mode, uint[] input, int wordsPerItem, Func<int, uint> expected, string what)
    {
        string inPath = Path.Combine(_folder, "in.bin"), outPath = Path.Combine(_folder, "out.bin");
        File.WriteAllBytes(inPath, MemoryMarshal.AsBytes(input.AsSpan()).ToArray());
        (int exit, string errors) = KernelSyntaxTests.Run(program, $"{mode} \"{inPath}\" \"{outPath}\"");
        Assert.True(exit == 0, $"{program} {mode}: {errors}");
        uint[] got = MemoryMarshal.Cast<byte, uint>(File.ReadAllBytes(outPath)).ToArray();
        Assert.Equal(input.Length / wordsPerItem, got.Length);
        for (int i = 0; i < got.Length; i++)
        {
            uint want = expected(i);
            if (got[i] != want)
            {
                string operands = wordsPerItem == 1 ? $"0x{input[i]:X8}" : $"0x{input[2 * i]:X8}, 0x{input[(2 * i) + 1]:X8}";
                Assert.Fail($"{mode}: the kernels' {what} of ({operands}) is 0x{got[i]:X}, the library's 0x{want:X}");
            }
        }
    }
}
