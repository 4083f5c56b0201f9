// Host-compiler stand-ins for the CUDA built-ins the kernels use, so g++ -fsyntax-only can check the joined kernel
// source on a machine without CUDA (KernelSyntaxTests). Only declarations that make the code parse and type-check:
// nothing here runs.
#pragma once
#define __device__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(x)
#define __shared__ static
#define extern_shared
struct int4 { int x, y, z, w; };
struct dim3 { unsigned x, y, z; };
extern dim3 threadIdx, blockIdx, blockDim, gridDim;
inline int4 make_int4(int a, int b, int c, int d) { return int4{a, b, c, d}; }
inline void __syncthreads() {}
int printf(const char* format, ...);  // NVRTC declares the device printf without a header
inline void __threadfence_system() {}
inline void __threadfence() {}
inline int atomicCAS(int*, int, int) { return 0; }
inline int atomicExch(int*, int) { return 0; }
inline unsigned atomicAdd(unsigned*, unsigned) { return 0; }
inline unsigned atomicOr(unsigned*, unsigned) { return 0; }
inline int __popc(unsigned) { return 0; }
inline int __ffs(unsigned) { return 0; }
inline unsigned __ballot_sync(unsigned, int) { return 0; }
inline int __popcll(unsigned long long) { return 0; }
template <typename T> T __shfl_sync(unsigned, T v, int) { return v; }
template <typename T> T __shfl_up_sync(unsigned, T v, int) { return v; }
inline float __uint_as_float(unsigned) { return 0; }
inline float __int_as_float(int) { return 0; }
inline unsigned __float_as_uint(float) { return 0; }
inline int __float_as_int(float) { return 0; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline int4 __ldg(const int4* p) { return *p; }
template <typename T> T min(T a, T b) { return a < b ? a : b; }
template <typename T> T max(T a, T b) { return a > b ? a : b; }
inline int4 __ldcg(const int4* p) { return *p; }
