// The FP8 quantization rule of docs/fp8.md, bit for bit the Host backend's (EpQuantization.cs, Float8E4M3.cs): plain
// arithmetic on fp32 bits and no other kernel code, so the host test (tests/NcclEp.Tests/Cuda/Fp8RuleHostRunTests.cs)
// compiles this file alone with g++ and compares it with the library on millions of values. -DNCCLEP_QUANT: 0 none,
// 1 fp32 scales, 2 power-of-two scales, 3 UE8M0 scales (the scale is the same power of two as 2).
#pragma once

#ifndef NCCLEP_QUANT
#define NCCLEP_QUANT 0
#endif

typedef unsigned int u32;

// Running amax in bits: the larger of amax and |x| if x is finite (NaN and infinity leave the scale alone).
__device__ __forceinline__ u32 fp8_amax(u32 amax, float x) {
    const u32 a = __float_as_uint(x) & 0x7FFFFFFFu;
    return a < 0x7F800000u && a > amax ? a : amax;
}

// amax / 448, correctly rounded, at least 2^-126; power-of-two recipes round it up to the next power of two.
__device__ __forceinline__ float fp8_scale(u32 amaxBits) {
    u32 bits = __float_as_uint(__fdiv_rn(__uint_as_float(amaxBits), 448.0f));
    if (bits < 0x00800000u) bits = 0x00800000u;
#if NCCLEP_QUANT >= 2
    if (bits & 0x007FFFFFu) bits = (bits & 0x7F800000u) + 0x00800000u;
#endif
    return __uint_as_float(bits);
}

// x / scale rounded to fp32. Power-of-two scales (2^-126..2^120) have an exact reciprocal, and x times it is the same
// correctly rounded value as the quotient, so they multiply; fp32 scales divide.
__device__ __forceinline__ float fp8_quotient(float x, float scale) {
#if NCCLEP_QUANT == 1
    return __fdiv_rn(x, scale);
#else
    return __fmul_rn(x, __uint_as_float((254u - (__float_as_uint(scale) >> 23)) << 23));
#endif
}

// fp32 -> E4M3: nearest, ties to even; |y| >= 448 (infinity included) saturates to +-448; NaN gives 0x7F; sign kept.
__device__ __forceinline__ u32 f32_to_e4m3(float y) {
    const u32 u = __float_as_uint(y);
    const u32 sign = (u >> 24) & 0x80u, a = u & 0x7FFFFFFFu;
    if (a > 0x7F800000u) return 0x7Fu;
    if (a >= 0x43E00000u) return sign | 0x7Eu;
    if (a >= 0x3C800000u) return sign | (((a + 0x7FFFFu + ((a >> 20) & 1u)) >> 20) - (120u << 3));  // a normal code
    return sign | (u32)__float2int_rn(__fmul_rn(__uint_as_float(a), 512.0f));                     // m * 2^-9, m = 0..8
}
