// Host-compiler stand-ins for the CUDA built-ins the kernels use, so g++ -fsyntax-only can check the joined kernel
// source on a machine without CUDA (KernelSyntaxTests). Mostly declarations that make the code parse and type-check;
// the fp32 bit casts and correctly rounded arithmetic are real, so the FP8 rule (ep_fp8_rule.cuh) also runs on the host
// (Fp8RuleHostRunTests).
#pragma once
#include <cmath>
#include <cstring>
#define __device__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define extern_shared
#define __align__(n) __attribute__((aligned(n)))  // GNU form: CUDA puts it where alignas may not go
struct int4 { int x, y, z, w; };
struct uint2 { unsigned x, y; };
inline uint2 make_uint2(unsigned a, unsigned b) { return uint2{a, b}; }
struct dim3 { unsigned x, y, z; };
extern dim3 threadIdx, blockIdx, blockDim, gridDim;
inline int4 make_int4(int a, int b, int c, int d) { return int4{a, b, c, d}; }
inline void __syncthreads() {}
inline void __syncwarp(unsigned = 0xFFFFFFFFu) {}
extern "C" int printf(const char* format, ...);  // NVRTC declares the device printf without a header
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
template <typename T> T __shfl_xor_sync(unsigned, T v, int) { return v; }
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, 4); return f; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, 4); return u; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline int __float2int_rn(float x) { return (int)std::nearbyint(x); }  // the default rounding mode: to nearest, ties to even
inline int4 __ldg(const int4* p) { return *p; }
template <typename T> T min(T a, T b) { return a < b ? a : b; }
template <typename T> T max(T a, T b) { return a > b ? a : b; }
inline int4 __ldcg(const int4* p) { return *p; }
inline unsigned long long __cvta_generic_to_shared(const void*) { return 0; }  // the bulk copies (ep_bulk.cuh)
