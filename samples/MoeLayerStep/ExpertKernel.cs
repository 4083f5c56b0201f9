using System;
using System.Runtime.InteropServices;
using System.Text;

namespace MoeLayerStep;

/// <summary>
/// The stand-in experts on the GPU: a small CUDA C kernel compiled at run time with NVRTC (a host brings its own
/// experts; this is what one looks like between Dispatch and Combine). Expert <c>e</c> maps each element x of a row it
/// received to <c>bf16(x·a_e + b_e)</c> (<see cref="Experts"/>); the rows in use come from the handle's per-expert counts
/// in device memory, so nothing is read back and the launch can be captured into the graph.
/// </summary>
internal sealed unsafe class ExpertKernel : IDisposable
{
    private const string Source = """
        // Expert-major rows [localExperts][rowsPerExpert][hidden] bf16; rows j < counts[l] of local expert l are in use.
        // y = bf16(x * a_e + b_e), the multiply and the add each rounded (no fused multiply-add), ties to even.
        __device__ float expert_a(int e) { return __fmul_rn((float)(96 + (e & 63)), 0.0078125f); }
        __device__ float expert_b(int e) { return __fmul_rn((float)(((e >> 6) & 15) - 8), 0.0625f); }
        __device__ unsigned short to_bf16(float f) {
            unsigned int u = __float_as_uint(f);
            if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (unsigned short)((u >> 16) | 0x40u);
            return (unsigned short)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
        }
        extern "C" __global__ void sample_experts(const unsigned short* in, unsigned short* out, const int* counts,
                                                  int rowsPerExpert, int hidden, int firstExpert) {
            const int l = blockIdx.y, e = firstExpert + l;
            for (int j = blockIdx.x; j < counts[l]; j += gridDim.x) {
                const long long row = ((long long)l * rowsPerExpert + j) * hidden;
                for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
                    const float x = __uint_as_float((unsigned int)in[row + i] << 16);
                    out[row + i] = to_bf16(__fadd_rn(__fmul_rn(x, expert_a(e)), expert_b(e)));
                }
            }
        }
        """;

    private static readonly string[] Libraries = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"];
    private nint _module;

    /// <summary>Compiles the kernel for the current context's device and loads it there.</summary>
    public ExpertKernel(int device)
    {
        Function = CudaStreams.LoadFunction(Compile(CudaStreams.Architecture(device)), "sample_experts", out _module);
    }

    /// <summary>The kernel (CUfunction) in the current context.</summary>
    public nint Function { get; }

    private static byte[] Compile(string architecture)
    {
        nint library = 0;
        string? path = Environment.GetEnvironmentVariable("NCCLEP_NVRTC_PATH");
        foreach (string candidate in path is null ? Libraries : [path, .. Libraries])
        {
            if (NativeLibrary.TryLoad(candidate, out library)) break;
        }
        if (library == 0) throw new InvalidOperationException($"NVRTC not found (tried {string.Join(", ", Libraries)}); set NCCLEP_NVRTC_PATH.");

        var create = (delegate* unmanaged<nint*, byte*, byte*, int, byte**, byte**, int>)NativeLibrary.GetExport(library, "nvrtcCreateProgram");
        var compile = (delegate* unmanaged<nint, int, byte**, int>)NativeLibrary.GetExport(library, "nvrtcCompileProgram");
        var logSize = (delegate* unmanaged<nint, nuint*, int>)NativeLibrary.GetExport(library, "nvrtcGetProgramLogSize");
        var getLog = (delegate* unmanaged<nint, byte*, int>)NativeLibrary.GetExport(library, "nvrtcGetProgramLog");
        var cubinSize = (delegate* unmanaged<nint, nuint*, int>)NativeLibrary.GetExport(library, "nvrtcGetCUBINSize");
        var getCubin = (delegate* unmanaged<nint, byte*, int>)NativeLibrary.GetExport(library, "nvrtcGetCUBIN");
        var destroy = (delegate* unmanaged<nint*, int>)NativeLibrary.GetExport(library, "nvrtcDestroyProgram");

        byte[] source = Encoding.UTF8.GetBytes(Source + "\0"), name = "sample_experts.cu\0"u8.ToArray();
        byte[][] options = [Encoding.UTF8.GetBytes($"--gpu-architecture={architecture}\0"), "--fmad=false\0"u8.ToArray()];
        nint program;
        fixed (byte* s = source, n = name) Check(create(&program, s, n, 0, null, null), "nvrtcCreateProgram");
        try
        {
            int status;
            fixed (byte* o0 = options[0], o1 = options[1])
            {
                byte** list = stackalloc byte*[2] { o0, o1 };
                status = compile(program, 2, list);
            }
            if (status != 0)
            {
                nuint size;
                logSize(program, &size);
                var log = new byte[(int)size];
                fixed (byte* l = log) getLog(program, l);
                throw new InvalidOperationException($"nvrtcCompileProgram failed ({status}): {Encoding.UTF8.GetString(log).TrimEnd('\0')}");
            }
            nuint bytes;
            Check(cubinSize(program, &bytes), "nvrtcGetCUBINSize");
            var cubin = new byte[(int)bytes];
            fixed (byte* c = cubin) Check(getCubin(program, c), "nvrtcGetCUBIN");
            return cubin;
        }
        finally
        {
            destroy(&program);
        }
    }

    private static void Check(int status, string call)
    {
        if (status != 0) throw new InvalidOperationException($"{call} failed with nvrtcResult {status}.");
    }

    public void Dispose()
    {
        if (_module != 0) CudaStreams.UnloadModule(_module);
        _module = 0;
    }
}
