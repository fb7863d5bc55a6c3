// How a value of the KV cache is stored, shared by the cache writes (attention.cu's kv_write and
// rope.cu's rope fused with the write), so both store the same bytes. Layout of a cache of n_vals
// values (attention.cu): f16 values, or q8_0's int8 quants [n_vals] then f16 scales [n_vals / 32].
#pragma once
#include "prelude.h"

// x as value e of an f16 cache.
RF_DEVICE void rf_kv_store_f16(float x, rf_u8* RF_RESTRICT cache, rf_i64 e) { ((rf_f16*)cache)[e] = rf_f32_to_f16(x); }

// One q8_0 block of x (32 values) as the CPU's Q8_0 encoder writes it (cpu::qdot, llama.cpp's
// x86 rounding): amax = max |x|, d = amax / 127, id = 127 / amax (0 when amax is 0),
// q = round-half-even(x * id); 32 quants at q (4-byte aligned), the f16 scale at d.
RF_DEVICE void rf_q8_0_encode(const float* RF_RESTRICT x, rf_u8* RF_RESTRICT q, rf_f16* RF_RESTRICT d) {
    float amax = 0.0f;
#pragma unroll
    for (int i = 0; i < 32; i++) {
        const float a = fabsf(x[i]);
        amax = amax > a ? amax : a;
    }
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
#pragma unroll
    for (int j = 0; j < 8; j++) {
        rf_u32 w = 0u;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            const int qi = min(127, max(-128, rf_float2int_rn(x[4 * j + i] * id)));
            w |= (rf_u32)(qi & 0xff) << (8 * i);
        }
        ((rf_u32*)q)[j] = w;
    }
    *d = rf_f32_to_f16(amax / 127.0f);
}

// The 32 values at x as the q8_0 block whose first value is value e (a multiple of 32) of a
// cache of n_vals values.
RF_DEVICE void rf_kv_store_q8_0(const float* RF_RESTRICT x, rf_u8* RF_RESTRICT cache, rf_i64 n_vals, rf_i64 e) {
    rf_q8_0_encode(x, cache + e, (rf_f16*)(cache + n_vals) + e / 32);
}
