// Host stand-ins that run (unlike cuda_host_shim.h, which only makes kernels parse): exact bit casts and IEEE single
// operations rounded one at a time (compile with -ffp-contract=off), and block/thread indices a driver sets before
// each call. Enough for kernels without barriers, shared memory or atomics, whose sequential run over every (block,
// thread) is their parallel one: the test experts (ExpertsKernelRunTests).
#pragma once
#include <cstring>
#define __device__
#define __global__
#define __forceinline__ inline
struct dim3 { unsigned x, y, z; };
static dim3 threadIdx, blockIdx, blockDim, gridDim;
inline float __uint_as_float(unsigned u) { float f; std::memcpy(&f, &u, sizeof f); return f; }
inline unsigned __float_as_uint(float f) { unsigned u; std::memcpy(&u, &f, sizeof u); return u; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
