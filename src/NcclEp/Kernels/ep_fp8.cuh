// FP8 E4M3 dispatch (docs/fp8.md): the payload of a quantized message — the row's FP8 channels (hidden bytes), then its
// scales (one fp32 per 128 channels, or one UE8M0 byte per 128 channels), rounded up to 16 bytes — written by the sender
// as Host/RowQuantizer.cs does, with the rule of ep_fp8_rule.cuh, and copied out by the receiver. Compiled with
// -DNCCLEP_QUANT: 0 none (no FP8 kernel), 1 fp32 scales, 2 power-of-two scales, 3 UE8M0 scales.
#pragma once
#include "ep_common.cuh"
#include "ep_fp8_rule.cuh"
#if NCCLEP_QUANT == 3 && NCCLEP_HIDDEN % 512 != 0
#error "UE8M0 scales pack 4 groups of 128 channels per word: hidden must be a multiple of 512"
#endif

#define QUANT_GROUP 128
#define QUANT_GROUPS (NCCLEP_HIDDEN / QUANT_GROUP)
#define QUANT_SCALE_BYTES (NCCLEP_QUANT == 3 ? QUANT_GROUPS : 4 * QUANT_GROUPS)
#define QUANT_SCALE_WORDS (QUANT_SCALE_BYTES / 4)                        // columns of the scales tensor
#define QUANT_PAYLOAD_VECS ((NCCLEP_HIDDEN + QUANT_SCALE_BYTES + 15) / 16)  // WindowLayout.QuantizedPayloadBytes / 16
#define FP8_ROW_VECS (NCCLEP_HIDDEN / 16)
#define QUANT_LANES_PER_GROUP (QUANT_GROUP / ELEMS_PER_VEC)               // 16 lanes (bf16) or 32 (fp32) per group
#define QUANT_GROUPS_PER_STEP (32 / QUANT_LANES_PER_GROUP)

// A scale word of an all-zero row (padding rows): 2^-126 as fp32, or four UE8M0 bytes of 1.
#define QUANT_ZERO_ROW_SCALE_WORD (NCCLEP_QUANT == 3 ? 0x01010101u : 0x00800000u)

__device__ __forceinline__ u32 e4m3x4(const float* f, float scale) {
    return f32_to_e4m3(fp8_quotient(f[0], scale)) | (f32_to_e4m3(fp8_quotient(f[1], scale)) << 8) |
           (f32_to_e4m3(fp8_quotient(f[2], scale)) << 16) | (f32_to_e4m3(fp8_quotient(f[3], scale)) << 24);
}

// One warp quantizes a row into a message payload: QUANT_LANES_PER_GROUP lanes per 128-channel group, each lane 16 bytes
// of the row; the group's amax by shuffles, each lane's FP8 bytes, and the group's first lane its scale.
__device__ __forceinline__ void write_quantized_row(const int4* row, char* payload, int lane) {
    const int sub = lane / QUANT_LANES_PER_GROUP, v = lane % QUANT_LANES_PER_GROUP;
#pragma unroll 2
    for (int g0 = 0; g0 < QUANT_GROUPS; g0 += QUANT_GROUPS_PER_STEP) {
        const int g = g0 + sub;
        const bool here = g < QUANT_GROUPS;  // the same trip count for every lane: the shuffles need the whole warp
        float f[ELEMS_PER_VEC];
        unpack(here ? __ldg(row + g * QUANT_LANES_PER_GROUP + v) : make_int4(0, 0, 0, 0), f);
        u32 amax = 0;
#pragma unroll
        for (int i = 0; i < ELEMS_PER_VEC; i++) amax = fp8_amax(amax, f[i]);
#pragma unroll
        for (int d = QUANT_LANES_PER_GROUP / 2; d > 0; d >>= 1) amax = max(amax, __shfl_xor_sync(0xFFFFFFFFu, amax, d));
        if (!here) continue;
        const float scale = fp8_scale(amax);
        char* out = payload + g * QUANT_GROUP + v * ELEMS_PER_VEC;
#if ELEMS_PER_VEC == 8
        *(uint2*)out = make_uint2(e4m3x4(f, scale), e4m3x4(f + 4, scale));
#else
        *(u32*)out = e4m3x4(f, scale);
#endif
        if (v != 0) continue;
#if NCCLEP_QUANT == 3
        payload[NCCLEP_HIDDEN + g] = (char)(__float_as_uint(scale) >> 23);
#else
        ((float*)(payload + NCCLEP_HIDDEN))[g] = scale;
#endif
    }
}

// The scales of a received row: word w of the payload's scales goes to column w (columnStride bytes apart) at `at`.
__device__ __forceinline__ void copy_scales(const EpParams& p, const char* payload, i64 at, int lane) {
    for (int w = lane; w < QUANT_SCALE_WORDS; w += 32)
        *(int*)(p.scales + at + w * p.scalesColumnStride) = ld_cv((const int*)(payload + NCCLEP_HIDDEN) + w);
}
